"""The lists' scheduled run: expiry, withdrawn sources, overdue objections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.choices import Role
from creditplus.accounts.services import notify
from creditplus.lists.choices import (
    EndReason,
    EntryOrigin,
    ObjectionStatus,
)
from creditplus.lists.models import ListEntry, Objection
from creditplus.lists.services import remove_entry
from creditplus.records.choices import RecordStatus
from creditplus.records.models import CreditRecord


@dataclass
class MaintenanceResult:
    expired: int = 0
    source_removed: int = 0
    objections_escalated: int = 0

    def summary(self) -> str:
        return _("期满移出 %(e)d 条；来源部门移出 %(s)d 条；逾期异议督办 %(o)d 件") % {
            "e": self.expired,
            "s": self.source_removed,
            "o": self.objections_escalated,
        }


def maintain(today: date | None = None) -> MaintenanceResult:
    """The scheduled run (``creditplus lists_maintain``): catch up on events, remove entries
    whose period is over or whose source record was withdrawn, escalate overdue objections.
    Idempotent: a second run on the same day changes nothing."""
    from creditplus.records import consumers

    today = today or timezone.localdate()
    consumers.run("lists")
    result = MaintenanceResult()
    # A source record withdrawn (撤销), or replaced by a version no longer on the list.
    withdrawn = ListEntry.objects.live().filter(
        origin=EntryOrigin.IMPORTED,
        source_record_id__in=CreditRecord.objects.filter(
            Q(status=RecordStatus.RETRACTED) | Q(is_current=False)
        ).values("pk"),
    )
    for entry in withdrawn.iterator():
        remove_entry(entry, EndReason.SOURCE_REMOVED, today=today)
        result.source_removed += 1
    for entry in ListEntry.objects.members().filter(publish_until__lt=today).iterator():
        ended_by_owner = bool(
            entry.source_record_id
            and CreditRecord.objects.filter(
                pk=entry.source_record_id, end_date=entry.publish_until
            ).exists()
        )
        remove_entry(
            entry, EndReason.SOURCE_REMOVED if ended_by_owner else EndReason.EXPIRED, today=today
        )
        if ended_by_owner:
            result.source_removed += 1
        else:
            result.expired += 1
    result.objections_escalated = escalate_overdue_objections(today)
    return result


def escalate_overdue_objections(today: date) -> int:
    """Tell the credit office of every objection not answered by its deadline (once)."""
    overdue = Objection.objects.filter(
        status=ObjectionStatus.OPEN, due_on__lt=today, escalated_at__isnull=True
    ).select_related("department", "subject")
    count = 0
    for objection in overdue:
        with transaction.atomic():
            objection.escalated_at = timezone.now()
            objection.save(update_fields=["escalated_at"])
            notify(
                _("异议逾期未答复：%(no)s") % {"no": objection.number},
                _("%(dept)s 应于 %(due)s 前答复 %(subject)s 的异议，现已逾期。")
                % {
                    "dept": objection.department.name,
                    "due": objection.due_on,
                    "subject": objection.subject.name,
                },
                f"/backoffice/lists/objections/{objection.pk}/",
                role=Role.CREDIT_OFFICE,
            )
            audit.record(
                "objection.escalate",
                obj=objection,
                subject=objection.subject.code,
                after={"due_on": objection.due_on},
            )
        count += 1
    return count
