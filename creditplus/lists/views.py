"""Back-office pages of the lists (名单管理), objections (异议处理) and restorations (信用修复).

Views stay thin: they scope objects with the ``*_for`` queries, call the service functions
and show a :class:`DomainError` with the form that caused it. A :class:`Forbidden` or
:class:`NotFound` raised by a service passes through to ``backoffice_view`` (403 / 404).
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditplus.accounts import audit
from creditplus.accounts.permissions import acts_for, backoffice_view, get_for_user, require_perm
from creditplus.errors import Forbidden, NotFound, refusals_on
from creditplus.lists import objections as objection_services
from creditplus.lists import restorations as restoration_services
from creditplus.lists import services
from creditplus.lists.choices import (
    MEMBER_STATUSES,
    STEP_LABELS,
    EndReason,
    EntryStatus,
    ObjectionStatus,
    RestorationStatus,
)
from creditplus.lists.forms import (
    AcceptForm,
    AnswerForm,
    DecideForm,
    EntryFilterForm,
    NoticeForm,
    ProposeForm,
    PublishForm,
    RemoveForm,
    RestorationDecideForm,
    objection_filter,
    restoration_filter,
)
from creditplus.lists.models import Attachment, Deadline, ListEntry, ListType
from creditplus.lists.triggers import evidence_kind_label
from creditplus.pages import (
    audited_csv,
    audited_page,
    filters_of,
    page_of,
    post_action,
    querystring,
)
from creditplus.subjects.pii import decrypt

# Time limits printed on the restoration notice, in the order of the procedure.
NOTICE_DEADLINES = (
    "restoration_accept",
    "restoration_decide",
    "restoration_complex_extra",
    "restoration_feedback",
)

# The entry actions and the form each takes.
ENTRY_ACTIONS: dict[str, type[forms.Form]] = {
    "notice": NoticeForm,
    "decide": DecideForm,
    "publish": PublishForm,
    "remove": RemoveForm,
}


# --------------------------------------------------------------------------- entries


@backoffice_view("lists.view_listentry")
def entries(request: HttpRequest) -> HttpResponse:
    """The entries in the user's scope, filtered, with counts per status and a CSV export."""
    form = EntryFilterForm(request.GET or None)
    scope = services.entries_for(request.user)
    qs = form.apply(scope)
    if request.GET.get("format") == "csv":
        return _entries_csv(qs, form)
    counts = dict(
        form.apply(scope, with_status=False)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    chips = [
        {
            "value": value,
            "label": label,
            "count": counts.get(value, 0),
            "query": querystring(request, status=value).rstrip("&"),
            "active": request.GET.get("status") == value,
        }
        for value, label in EntryStatus.choices
    ]
    base = querystring(request)
    return render(
        request,
        "lists/entries.html",
        {
            "form": form,
            "page_obj": audited_page(
                request, qs, "list.entries.view", "lists.listentry", _("查看名单事项")
            ),
            "chips": chips,
            "querystring_base": base,
            "csv_query": f"{base}format=csv",
        },
    )


CSV_COLUMNS = (
    (gettext_lazy("名单编号"), lambda e: e.entry_no),
    (gettext_lazy("名单"), lambda e: e.list_type.name),
    (gettext_lazy("名单类别"), lambda e: e.list_type.get_kind_display()),
    (gettext_lazy("信用主体"), lambda e: e.subject.name),
    (gettext_lazy("统一社会信用代码"), lambda e: e.subject.uscc or ""),
    (gettext_lazy("状态"), lambda e: e.get_status_display()),
    (gettext_lazy("来源"), lambda e: e.get_origin_display()),
    (gettext_lazy("认定部门"), lambda e: e.department.name),
    (gettext_lazy("认定事由"), lambda e: e.reason),
    (gettext_lazy("认定文书号"), lambda e: e.decision_no),
    (
        gettext_lazy("提议时间"),
        lambda e: timezone.localtime(e.proposed_at).strftime("%Y-%m-%d %H:%M"),
    ),
    (gettext_lazy("陈述申辩截止日"), lambda e: e.response_due),
    (gettext_lazy("认定日期"), lambda e: e.decided_on),
    (gettext_lazy("公示日期"), lambda e: e.published_on),
    (
        gettext_lazy("可申请修复日期"),
        lambda e: _("期满移出") if e.expires_before_restoration else e.restoration_from,
    ),
    (gettext_lazy("期满日期"), lambda e: e.publish_until),
    (gettext_lazy("移出日期"), lambda e: e.ended_on),
    (gettext_lazy("移出原因"), lambda e: e.get_end_reason_display()),
)


def _entries_csv(qs: Any, form: EntryFilterForm) -> HttpResponse:
    filters = {"filters": filters_of(form)}
    return audited_csv(CSV_COLUMNS, qs, "list-entries", "list.export", _("导出名单主体"), filters)


def _can_act(entry: ListEntry, user: Any) -> bool:
    return acts_for(user, "lists.change_listentry", entry)


def _available_actions(entry: ListEntry, user: Any) -> list[str]:
    """The actions the entry's status allows, for the deciding department's users."""
    if not _can_act(entry, user):
        return []
    actions = []
    if entry.status == EntryStatus.PROPOSED:
        actions.append("notice")
    if entry.status == EntryStatus.NOTICED:
        actions.append("decide")
    if entry.status == EntryStatus.INCLUDED and entry.list_type.published:
        actions.append("publish")
    if entry.status in MEMBER_STATUSES:
        actions.append("remove")
    return actions


def _entry_page(
    request: HttpRequest, entry: ListEntry, bound: dict[str, forms.Form] | None = None
) -> HttpResponse:
    bound = bound or {}
    action_forms = {
        action: bound.get(action) or ENTRY_ACTIONS[action]()
        for action in _available_actions(entry, request.user)
    }
    timeline = list(entry.timeline.select_related("department"))
    for step in timeline:
        step.label = STEP_LABELS.get(step.action, step.action)
        # Objection and restoration steps leave the status as it was: no arrow for them.
        changed = step.to_status and step.to_status != step.from_status
        step.status_label = EntryStatus(step.to_status).label if changed else ""
    return render(
        request,
        "lists/entry.html",
        {
            "entry": entry,
            "evidence": entry.evidence.select_related("item").order_by("-decision_date", "id"),
            "source_record": entry.source_record if entry.source_record_id else None,
            "timeline": timeline,
            "objections": entry.objections.all(),
            "restorations": entry.restorations.all(),
            "action_forms": action_forms,
            "today": timezone.localdate(),
        },
    )


@backoffice_view("lists.view_listentry")
def entry(request: HttpRequest, pk: int) -> HttpResponse:
    """One entry: subject, list, dates, evidence, timeline, and the allowed actions."""
    obj = get_for_user(services.entries_for(request.user), request.user, pk=pk)
    audit.record("list.view", obj=obj, subject=obj.subject.code, purpose=_("查看名单事项"))
    return _entry_page(request, obj)


def _perform(action: str, entry: ListEntry, user: Any, data: dict[str, Any]) -> str:
    """Run ``action`` on ``entry`` and return the success message."""
    if action == "notice":
        entry = services.send_notice(entry, user)
        return _("已告知当事人，陈述申辩截止 %(d)s。") % {"d": entry.response_due}
    if action == "decide":
        include = data["decision"] == "include"
        services.decide_entry(
            entry, user, include=include, decision_no=data["decision_no"], note=data["note"]
        )
        return _("已作出列入决定，并送达信用修复告知书。") if include else _("已决定不予认定。")
    if action == "publish":
        services.publish_entry(entry, user)
        return _("已向社会公示。")
    services.remove_entry(entry, EndReason.REVOKED, user=user, note=data["note"])
    return _("已移出名单。")


@require_POST
@backoffice_view("lists.change_listentry")
def entry_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """POST one lifecycle step (notice, decide, publish, remove) and come back to the entry."""
    if action not in ENTRY_ACTIONS:
        raise NotFound()
    obj = get_for_user(services.entries_for(request.user), request.user, pk=pk)
    form = ENTRY_ACTIONS[action](request.POST)
    if form.is_valid():

        def perform() -> str:
            return _perform(action, obj, request.user, form.cleaned_data)

        back = redirect("lists:entry", pk=obj.pk)
        on_form = form if action in _available_actions(obj, request.user) else None
        if done := post_action(request, perform, back, on_form):
            return done
    return _entry_page(request, obj, {action: form})


@backoffice_view("lists.add_listentry")
def propose(request: HttpRequest) -> HttpResponse:
    """人工提议: step one looks the subject up by USCC, step two proposes with evidence."""
    user = request.user
    if request.method == "POST" and "lookup" not in request.POST:
        form = ProposeForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            with refusals_on(form, {"subject": "uscc"}):
                created = services.propose_entry(
                    user,
                    data["list_type"],
                    form.subject,
                    reason=data["reason"],
                    basis=data["basis"],
                    evidence=data["evidence"],
                )
                messages.success(
                    request, _("已提议列入%(list)s。") % {"list": created.list_type.name}
                )
                # A list decided by another department leaves the proposer's scope.
                if services.entries_for(user).filter(pk=created.pk).exists():
                    return redirect("lists:entry", pk=created.pk)
                return redirect("lists:entries")
    elif request.method == "POST":
        # The lookup step: show the subject's records without complaining about empty fields.
        form = ProposeForm(initial=request.POST.dict(), user=user)
    else:
        form = ProposeForm(initial={"uscc": request.GET.get("uscc", "")}, user=user)
    kind = evidence_kind_label(form.chosen_list) if form.chosen_list else ""
    return render(
        request,
        "lists/propose.html",
        {"form": form, "subject": form.subject, "evidence_kind": kind},
    )


@backoffice_view("lists.view_listentry")
def restoration_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """信用修复告知书 of a decided entry, for printing (served with the decision)."""
    obj = get_for_user(services.entries_for(request.user), request.user, pk=pk)
    if not (obj.decided_on and obj.decision_no):
        raise NotFound()
    deadlines = {d.code: d for d in Deadline.objects.filter(code__in=NOTICE_DEADLINES)}
    return render(
        request,
        "lists/restoration_notice.html",
        {
            "entry": obj,
            "number": f"XFGZ{obj.pk:08d}",
            "deadlines": [deadlines[c] for c in NOTICE_DEADLINES if c in deadlines],
        },
    )


@backoffice_view("lists.view_listtype")
def types(request: HttpRequest) -> HttpResponse:
    """The list types: criteria, basis, periods, publicity and the deciding department."""
    qs = ListType.objects.select_related("deciding_department", "source_item")
    return render(request, "lists/types.html", {"types": qs})


# --------------------------------------------------------------------------- objections


@backoffice_view("lists.view_objection")
def objections(request: HttpRequest) -> HttpResponse:
    """Objections in the user's scope, newest first."""
    form = objection_filter(request.GET or None)
    qs = form.apply(objection_services.objections_for(request.user))
    return render(
        request,
        "lists/objections.html",
        {
            "form": form,
            "page_obj": page_of(request, qs),
            "querystring_base": querystring(request),
            "today": timezone.localdate(),
        },
    )


@backoffice_view("lists.view_objection")
def objection(request: HttpRequest, pk: int) -> HttpResponse:
    """One objection with its evidence; the owning department answers it here."""
    user = request.user
    obj = get_for_user(objection_services.objections_for(user), user, pk=pk)
    form = None
    if request.method == "POST":
        require_perm(user, "lists.change_objection")
        form = AnswerForm(request.POST, objection=obj)
        if form.is_valid():
            data = form.cleaned_data
            with refusals_on(form, AnswerForm.field_aliases(obj)):
                objection_services.answer_objection(
                    obj,
                    user,
                    outcome=data["outcome"],
                    answer=data["answer"],
                    changes=data["changes"],
                )
                messages.success(request, _("异议 %(no)s 已答复。") % {"no": obj.number})
                return redirect("lists:objection", pk=obj.pk)
    else:
        audit.record("objection.view", obj=obj, subject=obj.subject.code, purpose=_("核查异议"))
        if obj.status == ObjectionStatus.OPEN and acts_for(user, "lists.change_objection", obj):
            form = AnswerForm(objection=obj)
    return render(
        request,
        "lists/objection.html",
        {
            "objection": obj,
            "form": form,
            "contact": decrypt(obj.contact_cipher) if obj.contact_cipher else "",
            "record_fields": (
                objection_services.record_fields(objection_services.current_version(obj.record))
                if obj.record_id
                else []
            ),
            "attachments": obj.attachments.all(),
            "today": timezone.localdate(),
        },
    )


# --------------------------------------------------------------------------- restorations


@backoffice_view("lists.view_restoration")
def restorations(request: HttpRequest) -> HttpResponse:
    """Restoration applications in the user's scope, newest first."""
    form = restoration_filter(request.GET or None)
    qs = form.apply(restoration_services.restorations_for(request.user))
    return render(
        request,
        "lists/restorations.html",
        {"form": form, "page_obj": page_of(request, qs), "querystring_base": querystring(request)},
    )


def _handle_restoration(restoration: Any, user: Any, step: str, data: dict[str, Any]) -> str:
    """Run the accept or decide step and return the success message."""
    if step == "accept":
        accept = data["decision"] == "accept"
        restoration_services.accept_restoration(
            restoration, user, accept=accept, note=data["note"], is_complex=data["is_complex"]
        )
        return _("已受理。") if accept else _("已决定不予受理。")
    approve = data["decision"] == "approve"
    restoration_services.decide_restoration(restoration, user, approve=approve, note=data["note"])
    return _("已准予信用修复。") if approve else _("已决定不予修复。")


@backoffice_view("lists.view_restoration")
def restoration(request: HttpRequest, pk: int) -> HttpResponse:
    """One application; the deciding department accepts it, then approves or denies it."""
    user = request.user
    obj = get_for_user(restoration_services.restorations_for(user), user, pk=pk)
    can_handle = acts_for(user, "lists.change_restoration", obj)
    accept_form = decide_form = None
    if request.method == "POST":
        require_perm(user, "lists.change_restoration")
        step = request.POST.get("step")
        if step not in ("accept", "decide"):
            raise NotFound()
        form = AcceptForm(request.POST) if step == "accept" else RestorationDecideForm(request.POST)
        if form.is_valid():
            with refusals_on(form):
                message = _handle_restoration(obj, user, step, form.cleaned_data)
                messages.success(request, message)
                return redirect("lists:restoration", pk=obj.pk)
        if step == "accept":
            accept_form = form
        else:
            decide_form = form
    else:
        audit.record(
            "restoration.view", obj=obj, subject=obj.subject.code, purpose=_("审核信用修复申请")
        )
        if can_handle and obj.status == RestorationStatus.SUBMITTED:
            accept_form = AcceptForm()
        if can_handle and obj.status == RestorationStatus.ACCEPTED:
            decide_form = RestorationDecideForm()
    return render(
        request,
        "lists/restoration.html",
        {
            "restoration": obj,
            "accept_form": accept_form,
            "decide_form": decide_form,
            "contact": decrypt(obj.contact_cipher) if obj.contact_cipher else "",
            "attachments": obj.attachments.all(),
        },
    )


# --------------------------------------------------------------------------- attachments


@backoffice_view()
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """Download an objection's or an application's evidence file (scoped and audited)."""
    user = request.user
    if not (user.has_perm("lists.view_objection") or user.has_perm("lists.view_restoration")):
        raise Forbidden()
    try:
        att = Attachment.objects.get(pk=pk)
    except Attachment.DoesNotExist:
        raise NotFound() from None
    if att.objection_id and user.has_perm("lists.view_objection"):
        owner = get_for_user(objection_services.objections_for(user), user, pk=att.objection_id)
    elif att.restoration_id and user.has_perm("lists.view_restoration"):
        owner = get_for_user(
            restoration_services.restorations_for(user), user, pk=att.restoration_id
        )
    else:
        raise NotFound()
    audit.record(
        "attachment.download",
        obj=att,
        subject=owner.subject.code,
        purpose=_("查看 %(no)s 的证明材料") % {"no": owner.number},
    )
    # The type comes from the (checked) file suffix, never from what the uploader claimed.
    content_type = mimetypes.guess_type(att.name)[0] or "application/octet-stream"
    return FileResponse(
        att.file.open("rb"), as_attachment=True, filename=att.name, content_type=content_type
    )
