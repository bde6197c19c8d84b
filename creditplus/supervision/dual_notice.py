"""双告知: new registrations in the collection path tell the licensing departments (监管告知)
and the subject (办证告知) which permits its business scope needs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify, read_reference
from creditplus.catalog.models import CatalogItem
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError
from creditplus.records.choices import RecordStatus
from creditplus.records.models import CreditRecord
from creditplus.subjects.models import Subject
from creditplus.supervision.models import PermitNotice, PermitRule, ScanCursor

CURSOR = "dual_notice"  # over CreditRecord ids of the registration item (DJ)
BATCH = 5000
SCOPE_FIELDS = ("DJ_XKXM", "DJ_JYFW")  # 许可项目, 经营范围


def load_permit_rules() -> str:
    """Load ``permit_notices.yaml`` (departments must exist)."""
    data = read_reference("permit_notices.yaml")
    results = [
        upsert_reference(
            PermitRule,
            {"code": r["code"]},
            data["version"],
            {
                "keywords": list(r["keywords"]),
                "permit": r["permit"],
                "department": Department.objects.get(code=r["department"]),
                "window": r.get("window") or data["window"],
            },
        )
        for r in data["rules"]
    ]
    return load_summary("双告知规则", results)


def _matches(text: str, rules: list[PermitRule]) -> list[tuple[PermitRule, str]]:
    found = []
    for rule in rules:
        keyword = next((k for k in rule.keywords if k in text), None)
        if keyword:
            found.append((rule, keyword))
    return found


def notify_new_registrations() -> int:
    """Read registration records (DJ) after the cursor; for each first registration whose
    scope needs permits, create the notices and tell each department once per run.
    Idempotent: the cursor advances in the same transaction, notices are unique per permit."""
    item = CatalogItem.objects.filter(code="DJ").first()
    rules = list(PermitRule.objects.select_related("department"))
    if item is None or not rules:
        return 0
    created_total = 0
    while True:
        with transaction.atomic():
            cursor, _created = ScanCursor.objects.select_for_update().get_or_create(name=CURSOR)
            records = list(
                CreditRecord.objects.filter(item=item, pk__gt=cursor.last_id)
                .order_by("pk")
                .only("pk", "subject_id", "data", "version", "status", "is_current")[:BATCH]
            )
            if not records:
                return created_total
            created = _notices_for(records, rules)
            cursor.last_id = records[-1].pk
            cursor.save(update_fields=["last_id", "updated_at"])
        created_total += created


def _notices_for(records: list[CreditRecord], rules: list[PermitRule]) -> int:
    now = timezone.now()
    notices = []
    for record in records:
        if record.version != 1 or record.status != RecordStatus.ACTIVE:
            continue  # only a first registration is a new subject
        values = record.values
        text = " ".join(str(values.get(f) or "") for f in SCOPE_FIELDS)
        for rule, keyword in _matches(text, rules):
            notices.append(
                PermitNotice(
                    subject_id=record.subject_id,
                    rule=rule,
                    department=rule.department,
                    permit=rule.permit,
                    matched=keyword,
                    record_id=record.pk,
                    notified_at=now,
                )
            )
    if not notices:
        return 0
    existing = set(
        PermitNotice.objects.filter(subject_id__in={n.subject_id for n in notices}).values_list(
            "subject_id", "rule_id"
        )
    )
    fresh = [n for n in notices if (n.subject_id, n.rule_id) not in existing]
    PermitNotice.objects.bulk_create(fresh, ignore_conflicts=True)
    per_department = Counter(n.department for n in fresh)
    for department, count in per_department.items():
        notify(
            _("双告知：%(n)d 个新设立市场主体的经营范围涉及本部门许可") % {"n": count},
            _("请在“双告知”中查看并跟进。"),
            url="/backoffice/supervision/notices/",
            department=department,
        )
    if fresh:
        audit.record(
            "dual_notice.send",
            object_type="supervision.permitnotice",
            purpose=_("双告知"),
            after={
                "notices": len(fresh),
                "departments": {d.code: c for d, c in per_department.items()},
            },
        )
    return len(fresh)


def notices_for(user: Any) -> QuerySet[PermitNotice]:
    """The department's 双告知 notices (all for the credit office)."""
    require_perm(user, "supervision.view_permitnotice")
    return restrict(PermitNotice.objects.select_related("subject", "department", "rule"), user)


def notices_of_subject(subject: Subject) -> QuerySet[PermitNotice]:
    """What the subject's own portal account shows: the permits to obtain, and where."""
    return PermitNotice.objects.filter(subject=subject).select_related("department", "rule")


@transaction.atomic
def follow_up(user: Any, notice: PermitNotice, note: str) -> PermitNotice:
    """The department records its follow-up (e.g. permit granted, activity not started);
    this closes the notice. Audited."""
    require_perm(user, "supervision.change_permitnotice")
    if user.department_id != notice.department_id:
        raise DomainError("forbidden", _("只有被告知的部门可以跟进"), status=403)
    if not notice.is_open:
        raise DomainError("notice_closed", _("该告知已跟进办结"))
    if not note.strip():
        raise DomainError("note_required", _("请填写跟进情况"), "note")
    notice.closed_at = timezone.now()
    notice.closed_by = user.username
    notice.follow_up = note.strip()[:500]
    notice.save(update_fields=["closed_at", "closed_by", "follow_up"])
    audit.record(
        "dual_notice.follow_up",
        obj=notice,
        subject=notice.subject.code,
        purpose=_("双告知跟进"),
        after={"note": notice.follow_up},
    )
    return notice
