"""我的信用's overview: what the enterprise must act on, and by when, before anything else
(the legal notices with their response deadline first), and how many items each section of
the area holds. Plain functions over the subject's own objects; the views stay thin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditplus.lists import restorations
from creditplus.lists.choices import RESTORATION_OPEN, EntryStatus, ObjectionStatus
from creditplus.lists.models import ListEntry, Objection, Restoration
from creditplus.subjects.models import Subject
from creditplus.supervision.choices import CommitmentStatus

# The sections (tabs) of 我的信用, in their order; ``?tab=`` names one.
TABS: list[tuple[str, Promise]] = [
    ("lists", gettext_lazy("名单信息")),
    ("events", gettext_lazy("失信行为")),
    ("records", gettext_lazy("公开的信用信息")),
    ("applications", gettext_lazy("异议与修复")),
    ("commitments", gettext_lazy("承诺与许可")),
    ("notifications", gettext_lazy("站内通知")),
]


@dataclass(frozen=True)
class ActionItem:
    """One thing to act on or to watch: a sentence, its deadline and where to go."""

    kind: str  # notice / objection / restoration / commitment / restorable / permit
    title: str
    due: date | None
    url: str
    urgent: bool = False


def _notices(subject: Subject) -> list[ActionItem]:
    entries = ListEntry.objects.filter(subject=subject, status=EntryStatus.NOTICED)
    return [
        ActionItem(
            "notice",
            _("拟列入%(list)s告知：如有异议，请于 %(due)s 前提出陈述申辩或异议")
            % {"list": e.list_type.name, "due": e.response_due or "—"},
            e.response_due,
            reverse("portal:my_entry", args=[e.pk]),
            urgent=True,
        )
        for e in entries.select_related("list_type").order_by("response_due", "id")
    ]


def _applications(subject: Subject) -> list[ActionItem]:
    items = [
        ActionItem(
            "objection",
            _("异议 %(no)s 处理中，答复期限 %(due)s") % {"no": o.number, "due": o.due_on},
            o.due_on,
            reverse("portal:objection_detail", args=[o.pk]),
        )
        for o in Objection.objects.filter(subject=subject, status=ObjectionStatus.OPEN)
    ]
    items += [
        ActionItem(
            "restoration",
            _("信用修复申请 %(no)s %(status)s，受理期限 %(due)s")
            % {"no": r.number, "status": r.get_status_display(), "due": r.accept_due},
            r.accept_due,
            reverse("portal:restoration_detail", args=[r.pk]),
        )
        for r in Restoration.objects.filter(subject=subject, status__in=RESTORATION_OPEN)
    ]
    return items


def _commitments(subject: Subject) -> list[ActionItem]:
    pending = subject.commitments.filter(status=CommitmentStatus.SIGNED).select_related(
        "template", "department"
    )
    return [
        ActionItem(
            "commitment",
            _("信用承诺 %(no)s（%(title)s）须履行，%(dept)s 将于 %(due)s 前核查")
            % {
                "no": c.number,
                "title": c.template.title,
                "dept": c.department.name,
                "due": c.verify_due,
            },
            c.verify_due,
            f"{reverse('portal:my')}?tab=commitments",
        )
        for c in pending.order_by("verify_due", "id")
    ]


def action_items(subject: Subject, restorable: int, open_permits: int) -> list[ActionItem]:
    """Everything that needs the enterprise's action or attention, most urgent first: the
    list notices (a legal deadline), then applications and commitments by their deadline,
    then what may now be applied for."""
    dated = sorted(
        _applications(subject) + _commitments(subject), key=lambda i: (i.due or date.max, i.title)
    )
    items = _notices(subject) + dated
    if restorable:
        items.append(
            ActionItem(
                "restorable",
                _("%(n)s 条失信行为信息已届满最短公示期，可以申请信用修复") % {"n": restorable},
                None,
                f"{reverse('portal:my')}?tab=events",
            )
        )
    if open_permits:
        items.append(
            ActionItem(
                "permit",
                _("%(n)s 项经营项目须先取得许可（双告知）") % {"n": open_permits},
                None,
                f"{reverse('portal:my')}?tab=commitments",
            )
        )
    return items


def event_rows(subject: Subject, events: list, today: date) -> list[tuple]:
    """Each event with its restoration eligibility and whether an application is open."""
    pending = set(
        Restoration.objects.filter(subject=subject, status__in=RESTORATION_OPEN).values_list(
            "event_id", flat=True
        )
    )
    return [
        (event, restorations.eligibility(event=event, today=today), event.pk in pending)
        for event in events
    ]
