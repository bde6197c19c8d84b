"""我的信用: the enterprise area of the portal. An enterprise account bound to its subject
(at a service window) sees its list entries, untrustworthy behavior, public records,
objections, restoration applications and notifications, and files objections and
restoration applications. Every object is looked up within the own subject (else 404)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditplus.accounts.models import Notification
from creditplus.catalog.choices import BehaviorKind, Disclosure
from creditplus.errors import refusals_on
from creditplus.lists import objections, restorations
from creditplus.lists.choices import (
    LIVE_STATUSES,
    MEMBER_STATUSES,
    RESTORATION_OPEN,
    EntryStatus,
    ObjectionStatus,
)
from creditplus.lists.models import Deadline, ListEntry, Objection, Restoration
from creditplus.pages import bound_subject_view
from creditplus.portal import mine
from creditplus.portal.forms import (
    CommitmentSignForm,
    ObjectionForm,
    RestorationForm,
)
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject
from creditplus.supervision import dual_notice
from creditplus.supervision import services as supervision
from creditplus.supervision.choices import Channel
from creditplus.supervision.models import Commitment

# Rows a section of 我的信用 shows per page.
MY_PAGE_SIZE = 20

# The timeline steps (ListTransition.action) as the subject reads them.
STEP_LABELS = {
    "propose": gettext_lazy("提议列入"),
    "notice": gettext_lazy("告知"),
    "include": gettext_lazy("认定列入"),
    "reject": gettext_lazy("不予认定"),
    "publish": gettext_lazy("公示"),
    "remove": gettext_lazy("移出"),
    "import": gettext_lazy("名单管理部门推送"),
    "objection": gettext_lazy("提出异议"),
    "objection_answer": gettext_lazy("异议答复"),
    "restoration": gettext_lazy("信用修复"),
}


# The enterprise area: signed in and bound to a subject, acting for it only.
enterprise_view = bound_subject_view(objections.subject_of, "portal/my_unbound.html")


def _submit(request: HttpRequest, form: Form, file: Callable[[], Any]) -> Any | None:
    """An application posted with a valid ``form``: what ``file`` filed. None when there is
    nothing to file or it was refused: the refusal is on the form, which the view renders
    again (scope refusals stay 403 / 404)."""
    if request.method != "POST" or not form.is_valid():
        return None
    with refusals_on(form):
        return file()
    return None


# --------------------------------------------------------------------------- own objects


def own_events(subject: Subject) -> QuerySet[CreditEvent]:
    """The subject's active untrustworthy behavior events (may be restored)."""
    return (
        CreditEvent.objects.filter(
            subject=subject, kind=BehaviorKind.UNTRUSTWORTHY, status=EventStatus.ACTIVE
        )
        .select_related("rule", "record__item", "record__department")
        .order_by("-occurred_on", "-id")
    )


def own_public_records(subject: Subject) -> QuerySet[CreditRecord]:
    """The subject's current records of publicly disclosed items (may be objected to)."""
    return (
        CreditRecord.objects.current()
        .filter(subject=subject, item__disclosure=Disclosure.PUBLIC)
        .select_related("item", "department")
        .order_by("-decision_date", "-id")
    )


def own_entries(subject: Subject) -> QuerySet[ListEntry]:
    """All list entries of the subject, live or ended."""
    return ListEntry.objects.filter(subject=subject).select_related("list_type", "department")


def _target(request: HttpRequest, **sources: QuerySet[Any]) -> tuple[str, Any]:
    """The one object named in the query string (``?record=`` …) within the own subject."""
    given = [(name, request.GET.get(name, "")) for name in sources]
    given = [(name, value) for name, value in given if value]
    if len(given) != 1 or not given[0][1].isdigit():
        raise Http404
    name, pk = given[0]
    return name, get_object_or_404(sources[name], pk=int(pk))


# --------------------------------------------------------------------------- pages


@enterprise_view
def my(request: HttpRequest, subject: Subject) -> HttpResponse:
    """我的信用: first what needs action and by when, then one section (``?tab=``) at a time:
    lists, behavior, records, applications, commitments and permits, notifications."""
    today = timezone.localdate()
    tab = request.GET.get("tab", "")
    tab = tab if tab in dict(mine.TABS) else mine.TABS[0][0]
    events = mine.event_rows(subject, list(own_events(subject)), today)
    permit_notices = list(dual_notice.notices_of_subject(subject))
    entries = ListEntry.objects.live().filter(subject=subject)
    objections_ = Objection.objects.filter(subject=subject)
    restorations_ = Restoration.objects.filter(subject=subject)
    commitments = subject.commitments.select_related("template", "department")
    records = own_public_records(subject)
    notifications = Notification.objects.for_user(request.user)
    counts = {
        "lists": entries.count(),
        "events": len(events),
        "records": records.count(),
        "applications": objections_.count() + restorations_.count(),
        "commitments": commitments.count() + len(permit_notices),
        "notifications": notifications.count(),
    }
    restorable = sum(1 for _e, check, pending in events if check.allowed and not pending)
    context: dict[str, Any] = {
        "subject": subject,
        "tab": tab,
        "tabs": [(code, label, counts[code]) for code, label in mine.TABS],
        "actions": mine.action_items(
            subject, restorable, sum(1 for n in permit_notices if n.is_open)
        ),
        "querystring_base": f"tab={tab}&",
    }
    if tab == "lists":
        context["page_obj"] = _page(request, entries.select_related("list_type", "department"))
    elif tab == "events":
        context["page_obj"] = _page(request, events)
    elif tab == "records":
        page = _page(request, records)
        context["page_obj"] = page
        context["records_in_objection"] = objections.open_objection_targets(
            records=[r.pk for r in page]
        )[0]
    elif tab == "applications":
        context["objections"] = objections_.select_related("record__item", "entry__list_type")
        context["restorations"] = restorations_.select_related("event__rule", "entry__list_type")
    elif tab == "commitments":
        context["commitments"] = commitments
        context["permit_notices"] = permit_notices
    else:
        context["page_obj"] = _page(request, notifications)
    return render(request, "portal/my.html", context)


def _page(request: HttpRequest, rows: Any) -> Any:
    return Paginator(rows, MY_PAGE_SIZE).get_page(request.GET.get("page"))


@enterprise_view
def my_entry(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    """One list entry of the own subject: its timeline, the notice and what may be done."""
    entry = get_object_or_404(own_entries(subject), pk=pk)
    today = timezone.localdate()
    timeline = list(entry.timeline.select_related("department"))
    for step in timeline:
        step.label = STEP_LABELS.get(step.action, step.action)
        step.status_label = EntryStatus(step.to_status).label
    return render(
        request,
        "portal/my_entry.html",
        {
            "subject": subject,
            "entry": entry,
            "timeline": timeline,
            "is_noticed": entry.status == EntryStatus.NOTICED,
            "is_member": entry.status in MEMBER_STATUSES,
            "objectable": entry.status in LIVE_STATUSES,
            "in_objection": entry.objections.filter(status=ObjectionStatus.OPEN).exists(),
            "eligibility": restorations.eligibility(entry=entry, today=today),
            "restoration_pending": entry.restorations.filter(status__in=RESTORATION_OPEN).exists(),
        },
    )


@enterprise_view
def my_entry_notice(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    """信用修复告知书 of an included or published entry, for printing (两书同达)."""
    entry = get_object_or_404(own_entries(subject).filter(status__in=MEMBER_STATUSES), pk=pk)
    return render(
        request,
        "portal/my_entry_notice.html",
        {
            "subject": subject,
            "entry": entry,
            "notice_no": f"XFGZ{entry.entry_no}",
            "accept_days": Deadline.days("restoration_accept"),
            "decide_days": Deadline.days("restoration_decide"),
        },
    )


@dataclass(frozen=True)
class _Application:
    """An application the subject files about one of its own objects: what it may be about
    (``targets``: query parameter → own objects), the form, the service that files it, what
    the applicant is told (``done``, with the number and the ``due`` date) and the pages."""

    targets: Callable[[Subject], dict[str, QuerySet[Any]]]
    form: type[Form]
    file: Callable[..., Any]
    done: Any
    due: str
    detail: str
    template: str
    context: Callable[[str, Any], dict[str, Any]] = lambda kind, target: {}


_OBJECTION = _Application(
    targets=lambda s: {"record": own_public_records(s), "entry": own_entries(s)},
    form=ObjectionForm,
    file=lambda *args, **kwargs: objections.submit_objection(*args, **kwargs),
    done=gettext_lazy("异议申请 %(no)s 已提交，答复期限 %(due)s。"),
    due="due_on",
    detail="portal:objection_detail",
    template="portal/objection_new.html",
)
_RESTORATION = _Application(
    targets=lambda s: {"event": own_events(s), "entry": own_entries(s)},
    form=RestorationForm,
    file=lambda *args, **kwargs: restorations.apply_restoration(*args, **kwargs),
    done=gettext_lazy("信用修复申请 %(no)s 已提交，受理期限 %(due)s。"),
    due="accept_due",
    detail="portal:restoration_detail",
    template="portal/restoration_new.html",
    context=lambda kind, target: {
        "eligibility": restorations.eligibility(today=timezone.localdate(), **{kind: target}),
        "commitment_text": restorations.COMMITMENT_TEXT,
    },
)


def _application_page(request: HttpRequest, subject: Subject, spec: _Application) -> HttpResponse:
    """The form of an application about the object the query names; posted and filed, the
    applicant goes to the filed application."""
    kind, target = _target(request, **spec.targets(subject))
    form = spec.form(request.POST or None, request.FILES or None)
    filed = _submit(
        request, form, lambda: spec.file(request.user, **form.application(), **{kind: target})
    )
    if filed:
        due = getattr(filed, spec.due)
        messages.success(request, str(spec.done) % {"no": filed.number, "due": due})
        return redirect(spec.detail, pk=filed.pk)
    context = {"subject": subject, "form": form, "kind": kind, "target": target}
    return render(request, spec.template, context | spec.context(kind, target))


@enterprise_view
def objection_new(request: HttpRequest, subject: Subject) -> HttpResponse:
    """提出异议 against one own public record (``?record=``) or list entry (``?entry=``)."""
    return _application_page(request, subject, _OBJECTION)


@enterprise_view
def objection_detail(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    """One own objection: status, due date, the answer and the attachments' names."""
    objection = get_object_or_404(
        Objection.objects.filter(subject=subject).select_related(
            "record__item", "entry__list_type", "department"
        ),
        pk=pk,
    )
    return render(
        request,
        "portal/objection_detail.html",
        {
            "subject": subject,
            "objection": objection,
            "overdue": objection.is_overdue(timezone.localdate()),
        },
    )


@enterprise_view
def restoration_new(request: HttpRequest, subject: Subject) -> HttpResponse:
    """申请信用修复 of one own untrustworthy event (``?event=``) or list entry (``?entry=``)."""
    return _application_page(request, subject, _RESTORATION)


@enterprise_view
def restoration_detail(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    """One own restoration application: status, the deadlines and the decision."""
    restoration = get_object_or_404(
        Restoration.objects.filter(subject=subject).select_related(
            "event__rule", "event__record__item", "entry__list_type", "department"
        ),
        pk=pk,
    )
    return render(
        request,
        "portal/restoration_detail.html",
        {"subject": subject, "restoration": restoration},
    )


@enterprise_view
def commitment_new(request: HttpRequest, subject: Subject) -> HttpResponse:
    """网上签署信用承诺: choose a template (``?template=``), read its conditions and
    consequences, and sign for the own subject."""
    templates = supervision.signable_templates()
    code = request.GET.get("template", "")
    if not code:
        return render(
            request,
            "portal/my_commitment_new.html",
            {"subject": subject, "templates": templates, "template": None},
        )
    template = get_object_or_404(templates, code=code)
    form = CommitmentSignForm(request.POST or None)

    def sign() -> Commitment:
        data = form.cleaned_data
        return supervision.sign_commitment(
            request.user,
            template,
            subject,
            reason=data["reason"],
            signer=data["signer"],
            channel=Channel.ONLINE,
            published=data["published"],
        )

    if signed := _submit(request, form, sign):
        done = _("信用承诺 %(no)s 已签署，%(d)s 将于 %(due)s 前核查履行情况。")
        due = {"no": signed.number, "d": signed.department.name, "due": signed.verify_due}
        messages.success(request, done % due)
        return redirect(f"{reverse('portal:my')}#commitments")
    return render(
        request,
        "portal/my_commitment_new.html",
        {"subject": subject, "templates": templates, "template": template, "form": form},
    )
