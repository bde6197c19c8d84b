"""The cockpit's figures (驾驶舱): district-wide key figures read from what the domain apps
already compute — batch counts, data quality, list entries, measure statuses and task
statistics, the grade distribution, pending objections and restorations.

Nothing here scans the record table: records per department and their trend come from the
ingest batches' counts (one row per submission, not per record), so the cost does not grow
with the 16 M records. The whole set is computed in one go and kept in the Django cache for
a few minutes (:func:`cached_figures`); the page says when it was computed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts.models import Department
from creditplus.catalog.calendar import add_months
from creditplus.evaluation import services as evaluation
from creditplus.evaluation.choices import GRADES
from creditplus.evaluation.models import EvaluationModel
from creditplus.lists.choices import (
    MEMBER_STATUSES,
    OPEN_STATUSES,
    EntryStatus,
    ObjectionStatus,
    RestorationStatus,
)
from creditplus.lists.models import ListEntry, ListTransition, ListType, Objection, Restoration
from creditplus.lists.objections import objections_for
from creditplus.lists.services import entries_for
from creditplus.records.choices import BatchStatus
from creditplus.records.models import IngestBatch
from creditplus.records.services import quality_figures
from creditplus.sanctions import services as sanctions
from creditplus.sanctions.choices import TaskOrigin, TaskStatus
from creditplus.sanctions.models import SanctionTask
from creditplus.supervision.choices import CommitmentStatus
from creditplus.supervision.services import commitments_for

CACHE_KEY = "cockpit:figures:v1"
CACHE_SECONDS = 300
TREND_MONTHS = 12
# Pending objections and restorations listed on the page (nearest deadline first).
PENDING_SHOWN = 20


def _month_start(day: date) -> datetime:
    """Midnight of the first day of ``day``'s month, in the current time zone."""
    return timezone.make_aware(datetime.combine(day.replace(day=1), time.min))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --------------------------------------------------------------------------- collection


def records_by_department() -> list[dict[str, Any]]:
    """Records collected per active department, most first: new records (``records``, the
    batches' accepted rows), new versions (``updates``), completed batches and the latest
    submission. Summed over completed batches, so retractions are not subtracted."""
    sums = {
        row["department_id"]: row
        for row in IngestBatch.objects.filter(status=BatchStatus.DONE)
        .order_by()
        .values("department_id")
        .annotate(
            records=Sum("accepted"),
            updates=Sum("updated"),
            batches=Count("id"),
            last_batch=Max("created_at"),
        )
    }
    rows = []
    for department in Department.objects.filter(is_active=True):
        row = sums.get(department.pk, {})
        rows.append(
            {
                "code": department.code,
                "name": department.name,
                "records": row.get("records") or 0,
                "updates": row.get("updates") or 0,
                "batches": row.get("batches") or 0,
                "last_batch": row.get("last_batch"),
            }
        )
    rows.sort(key=lambda r: (-r["records"], r["code"]))
    return rows


def monthly_trend(today: date, months: int = TREND_MONTHS) -> list[dict[str, Any]]:
    """New records and new versions per month of batch submission, the last ``months``
    months up to ``today``'s month (months without batches count zero), oldest first."""
    first = add_months(today.replace(day=1), -(months - 1))
    sums = {
        timezone.localtime(row["month"]).strftime("%Y-%m"): row
        for row in IngestBatch.objects.filter(
            status=BatchStatus.DONE, created_at__gte=_month_start(first)
        )
        .order_by()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(records=Sum("accepted"), updates=Sum("updated"))
    }
    trend = []
    for i in range(months):
        key = add_months(first, i).strftime("%Y-%m")
        row = sums.get(key, {})
        trend.append(
            {"month": key, "records": row.get("records") or 0, "updates": row.get("updates") or 0}
        )
    return trend


def quality_ranking(today: date, months: int = TREND_MONTHS) -> dict[str, Any]:
    """Data quality per department over the batches of the last ``months`` months (from
    :func:`creditplus.records.services.quality_figures`), worst first: highest error rate,
    then lowest timeliness. ``totals`` are the district's figures over the same batches."""
    first = add_months(today.replace(day=1), -(months - 1))
    figures = quality_figures(IngestBatch.objects.filter(created_at__gte=_month_start(first)))
    per: dict[str, dict[str, Any]] = {}
    for src in figures["sources"]:
        row = per.setdefault(
            src["department"],
            {
                "code": src["department"],
                "name": src["department_name"],
                "submitted": 0,
                "rejected": 0,
                "timely": 0,
                "late": 0,
                "items": 0,
            },
        )
        for key in ("submitted", "rejected", "timely", "late"):
            row[key] += src[key]
        row["items"] += 1
    rows = list(per.values())
    for row in rows:
        row["error_rate"] = _rate(row["rejected"], row["submitted"]) or 0.0
        row["timely_rate"] = _rate(row["timely"], row["timely"] + row["late"])
    rows.sort(
        key=lambda r: (
            -r["error_rate"],
            r["timely_rate"] if r["timely_rate"] is not None else 2.0,
            -r["submitted"],
            r["code"],
        )
    )
    return {
        "departments": rows,
        "totals": figures["totals"],
        "timely_rate": figures["timeliness"]["rate"],
        "since": first,
    }


# --------------------------------------------------------------------------- lists


def list_figures(today: date) -> dict[str, Any]:
    """Per active list type: entries in force (``members``), open proposals (proposed or in
    the notice period), and this month's additions (an entry became a member: decided, or
    imported from the list's owner) and removals, counted on the entries' timelines."""
    month = _month_start(today)
    sizes = {
        row["list_type_id"]: row
        for row in ListEntry.objects.order_by()
        .values("list_type_id")
        .annotate(
            members=Count("id", filter=Q(status__in=MEMBER_STATUSES)),
            proposals=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        )
    }
    joined = Q(to_status__in=MEMBER_STATUSES) & ~Q(from_status__in=MEMBER_STATUSES)
    left = Q(action="remove", to_status=EntryStatus.REMOVED)
    moves = {
        row["entry__list_type_id"]: row
        for row in ListTransition.objects.filter(at__gte=month)
        .order_by()
        .values("entry__list_type_id")
        .annotate(added=Count("id", filter=joined), removed=Count("id", filter=left))
    }
    rows = []
    for list_type in ListType.objects.active():
        size = sizes.get(list_type.pk, {})
        move = moves.get(list_type.pk, {})
        rows.append(
            {
                "pk": list_type.pk,
                "code": list_type.code,
                "name": list_type.name,
                "kind": list_type.kind,
                "published": list_type.published,
                "members": size.get("members", 0),
                "proposals": size.get("proposals", 0),
                "added": move.get("added", 0),
                "removed": move.get("removed", 0),
            }
        )
    totals = {
        key: sum(r[key] for r in rows) for key in ("members", "proposals", "added", "removed")
    }
    return {"types": rows, "totals": totals, "month": today.strftime("%Y-%m")}


# --------------------------------------------------------------------------- sanctions


def sanction_figures(today: date) -> dict[str, Any]:
    """The measure catalog's implementation status (已完成 / 推进中 / 需协调 / 未启动, from
    :func:`creditplus.sanctions.services.status_summary`) and the task statistics per
    implementing department with the feedback rate (fed back / initiated). Tasks closed
    without feedback (the entry ended first) are left out: nobody owed feedback on them."""
    status = sanctions.status_summary()
    stats = sanctions.statistics(SanctionTask.objects.exclude(status=TaskStatus.CLOSED), today)
    departments = [
        {
            "code": row["department__code"],
            "name": row["department__name"],
            "initiated": row["initiated"],
            "fed_back": row["fed_back"],
            "applied": row["applied"],
            "overdue": row["overdue"],
            "feedback_rate": _rate(row["fed_back"], row["initiated"]),
        }
        for row in stats["by_department"]
    ]
    totals = {k: v or 0 for k, v in stats["totals"].items()}
    totals["feedback_rate"] = _rate(totals["fed_back"], totals["initiated"])
    return {
        "status": status,
        "measures": sum(status.values()),
        "departments": departments,
        "totals": totals,
    }


# --------------------------------------------------------------------------- evaluation


def grade_figures() -> dict[str, Any] | None:
    """The active model's grade distribution (from
    :func:`creditplus.evaluation.services.distribution`), or None without an active model."""
    model = EvaluationModel.objects.active()
    if model is None:
        return None
    spec = evaluation.spec_of(model)
    dist = evaluation.distribution(model)
    total = dist["total"]
    return {
        "model": model.code,
        "total": total,
        "mean": dist["mean"],
        "as_of": dist["as_of"],
        "grades": [
            {
                "grade": g,
                "label": spec.label(g),
                "count": dist["grades"][g],
                "share": _rate(dist["grades"][g], total),
            }
            for g in GRADES
        ],
    }


# --------------------------------------------------------------------------- pending work


def pending(today: date, shown: int = PENDING_SHOWN) -> dict[str, Any]:
    """Objections awaiting an answer and restorations awaiting acceptance or decision, with
    their deadlines; overdue when today is past the deadline (as the list pages mark them).
    ``rows`` are the ``shown`` nearest deadlines of both kinds, overdue ones first."""
    objections = Objection.objects.filter(status=ObjectionStatus.OPEN)
    submitted = Q(status=RestorationStatus.SUBMITTED)
    accepted = Q(status=RestorationStatus.ACCEPTED)
    restorations = Restoration.objects.filter(submitted | accepted)
    objection_counts = objections.aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today))
    )
    restoration_counts = restorations.aggregate(
        open=Count("id"),
        overdue=Count(
            "id",
            filter=(submitted & Q(accept_due__lt=today)) | (accepted & Q(decide_due__lt=today)),
        ),
    )
    rows: list[dict[str, Any]] = []
    for o in objections.select_related(
        "subject", "department", "record__item", "entry__list_type"
    ).order_by("due_on", "id")[:shown]:
        rows.append(
            {
                "kind": "objection",
                "pk": o.pk,
                "number": o.number,
                "subject": o.subject.name,
                "department": o.department.name,
                "target": o.entry.list_type.name if o.entry_id else o.record.item.name,
                "step": "answer",
                "due": o.due_on,
                "overdue": o.due_on < today,
            }
        )
    related = ("subject", "department", "event__rule", "entry__list_type")
    for status, field, step in (
        (RestorationStatus.SUBMITTED, "accept_due", "accept"),
        (RestorationStatus.ACCEPTED, "decide_due", "decide"),
    ):
        for r in (
            restorations.filter(status=status)
            .select_related(*related)
            .order_by(field, "id")[:shown]
        ):
            due = getattr(r, field)
            rows.append(
                {
                    "kind": "restoration",
                    "pk": r.pk,
                    "number": r.number,
                    "subject": r.subject.name,
                    "department": r.department.name,
                    "target": r.entry.list_type.name if r.entry_id else r.event.rule.name,
                    "step": step,
                    "due": due,
                    "overdue": bool(due and due < today),
                }
            )
    rows.sort(key=lambda r: (r["due"] or date.max, r["kind"], r["pk"]))
    return {
        "objections": objection_counts,
        "restorations": restoration_counts,
        "rows": rows[:shown],
    }


# --------------------------------------------------------------------------- the set


def figures(today: date | None = None) -> dict[str, Any]:
    """Every figure of the cockpit, computed now."""
    today = today or timezone.localdate()
    departments = records_by_department()
    return {
        "computed_at": timezone.now(),
        "today": today,
        "records": {
            "departments": departments,
            "total": sum(d["records"] for d in departments),
            "updates": sum(d["updates"] for d in departments),
            "supplying": sum(1 for d in departments if d["batches"]),
        },
        "trend": monthly_trend(today),
        "quality": quality_ranking(today),
        "lists": list_figures(today),
        "sanctions": sanction_figures(today),
        "grades": grade_figures(),
        "pending": pending(today),
    }


def cached_figures(refresh: bool = False) -> dict[str, Any]:
    """:func:`figures` from the cache (computed at most every ``CACHE_SECONDS``), or
    recomputed when ``refresh`` is asked or the cached set is from an earlier day."""
    data = None if refresh else cache.get(CACHE_KEY)
    if data is None or data["today"] != timezone.localdate():
        data = figures()
        cache.set(CACHE_KEY, data, CACHE_SECONDS)
    return data


def clear_cache() -> None:
    """Forget the cached figures (tests, or after a bulk load)."""
    cache.delete(CACHE_KEY)


# --------------------------------------------------------------------------- department home


# Open tasks due within this many days are shown as "due soon" on a department's home.
DUE_SOON_DAYS = 3


def department_todo(user: Any, today: date) -> list[dict[str, Any]]:
    """A department's to-do counts for its back-office home, each with the page that lists
    the rows (only those the user may see): open joint-punishment tasks by deadline (tasks of
    both kinds; a check-triggered one is answered by the check's report), list proposals
    waiting for their notice, objections to answer, commitments to verify."""
    rows: list[dict[str, Any]] = []
    if user.has_perm("sanctions.view_sanctiontask"):
        pending = sanctions.tasks_for(user).pending()
        soon = today + timedelta(days=DUE_SOON_DAYS)
        figures = pending.aggregate(
            overdue=Count("id", filter=Q(due_on__lt=today)),
            soon=Count("id", filter=Q(due_on__gte=today, due_on__lte=soon)),
            later=Count("id", filter=Q(due_on__gt=soon)),
            checks=Count("id", filter=Q(origin=TaskOrigin.CHECK)),
        )
        tasks = "/backoffice/sanctions/tasks/"
        rows += [
            _todo("tasks_overdue", _("已逾期的实施任务"), figures["overdue"], f"{tasks}?overdue=1"),
            _todo(
                "tasks_soon",
                _("%(n)d 日内到期的实施任务") % {"n": DUE_SOON_DAYS},
                figures["soon"],
                f"{tasks}?status=pending",
            ),
            _todo("tasks_later", _("其他待反馈任务"), figures["later"], f"{tasks}?status=pending"),
            _todo(
                "check_reports",
                _("其中办理时核查触发的任务"),
                figures["checks"],
                f"{tasks}?status=pending&origin=check",
            ),
        ]
    if user.has_perm("lists.view_listentry"):
        proposals = entries_for(user).filter(status=EntryStatus.PROPOSED).count()
        rows.append(
            _todo("notices", _("待发送的列入告知"), proposals, "/backoffice/lists/?status=proposed")
        )
    if user.has_perm("lists.view_objection"):
        open_objections = objections_for(user).filter(status=ObjectionStatus.OPEN).count()
        rows.append(
            _todo(
                "objections",
                _("待答复的异议"),
                open_objections,
                "/backoffice/lists/objections/?status=open",
            )
        )
    if user.has_perm("supervision.view_commitment"):
        signed = commitments_for(user).filter(status=CommitmentStatus.SIGNED)
        rows.append(
            _todo(
                "commitments",
                _("待核查的信用承诺"),
                signed.count(),
                "/backoffice/supervision/commitments/?status=signed",
                overdue=signed.filter(verify_due__lt=today).count(),
            )
        )
    return rows


def _todo(key: str, label: str, count: int, url: str, overdue: int = 0) -> dict[str, Any]:
    return {"key": key, "label": label, "count": count, "url": url, "overdue": overdue}
