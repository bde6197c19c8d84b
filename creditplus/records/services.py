"""Batches, rejected rows, retraction and correction of records, data-quality figures."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import restrict
from creditplus.bulk import insert_frame
from creditplus.catalog.models import CatalogItem, CodeTable
from creditplus.csvfiles import csv_bytes
from creditplus.errors import DomainError, with_code
from creditplus.records import consumers
from creditplus.records.choices import (
    BatchSource,
    BatchStatus,
    EventStatus,
    RecordStatus,
    error_label,
)
from creditplus.records.ingest import IngestOptions, behavior_events, ingest_rows, record_values
from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch, RowError
from creditplus.records.validation import ROW, RowValidator, natural_keys
from creditplus.subjects.pii import unseal
from creditplus.subjects.services import touch_subjects


def batches_for(user: Any) -> QuerySet[IngestBatch]:
    """Batches ``user`` may see: the own department's, or all for the credit office."""
    return restrict(IngestBatch.objects.select_related("department", "item"), user)


def records_for(user: Any) -> QuerySet[CreditRecord]:
    """Records ``user`` may manage: those its department supplied, or all for the credit office."""
    return restrict(CreditRecord.objects.select_related("item", "subject", "department"), user)


def rejected_rows_csv(batch: IngestBatch) -> bytes:
    """The rejected rows as submitted (audited: they may hold personal data), with 数据行号 and
    错误原因 columns, through the project's one CSV writer (BOM, formulas quoted) — fix and
    submit again. Values starting with = + - @ come back with a leading apostrophe."""
    audit.record("batch.rejected_rows", obj=batch, purpose="下载被拒收的行以更正后重新报送")
    errors = list(RowError.objects.filter(batch=batch).order_by("row_no", "id"))
    by_row: dict[int, list[RowError]] = defaultdict(list)
    for err in errors:
        by_row[err.row_no].append(err)
    headers: list[str] = []
    rows = []
    for row_no, errs in by_row.items():
        raw = json.loads(errs[0].raw) if errs[0].raw else {}
        for key in raw:
            if key not in headers:
                headers.append(key)
        rows.append((row_no, raw, "；".join(with_code(e.message, e.code) for e in errs)))
    content, _n = csv_bytes(
        [_("数据行号"), *headers, _("错误原因")],
        ([row_no, *[_clear(raw.get(h)) for h in headers], reason] for row_no, raw, reason in rows),
    )
    return content


def _clear(value: Any) -> str:
    """Stored rejected rows keep personal values sealed; the department gets them back."""
    if isinstance(value, str) and value.startswith("s1:"):
        return unseal(value)
    return "" if value is None else str(value)


@transaction.atomic
def retract_record(record: CreditRecord, reason: str) -> CreditRecord:
    """撤销: the supplying department withdraws a record (e.g. a decision annulled). The
    record stays for history, its behavior events end, and the subject is re-evaluated."""
    if not reason.strip():
        raise DomainError("reason_required", _("请填写撤销理由"), "reason")
    # Lock the row: a concurrent correction must not build on a record being retracted.
    record = CreditRecord.objects.select_for_update().get(pk=record.pk)
    if not record.is_current or record.status != RecordStatus.ACTIVE:
        raise DomainError("record_not_current", _("只能撤销当前有效的记录"), status=409)
    record.status = RecordStatus.RETRACTED
    record.save(update_fields=["status"])
    record.events.filter(status=EventStatus.ACTIVE).update(status=EventStatus.RETRACTED)
    touch_subjects([record.subject_id])
    audit.record(
        "record.retract",
        obj=record,
        subject=record.subject.code,
        purpose=reason[:500],
        before={"status": RecordStatus.ACTIVE},
        after={"status": RecordStatus.RETRACTED},
    )
    return record


@transaction.atomic
def restore_event(event: CreditEvent, reason: str) -> CreditEvent:
    """信用修复: end an untrustworthy behavior's publicity and sharing before its period is
    over. The record stays; evaluation and measures see the event as no longer active."""
    event = CreditEvent.objects.select_for_update().get(pk=event.pk)
    if event.status != EventStatus.ACTIVE:
        raise DomainError("event_not_active", _("该失信行为已不在有效期内"), status=409)
    event.status = EventStatus.RESTORED
    event.save(update_fields=["status"])
    touch_subjects([event.subject_id])
    audit.record(
        "event.restore",
        obj=event,
        purpose=reason[:500],
        before={"status": EventStatus.ACTIVE},
        after={"status": EventStatus.RESTORED},
    )
    return event


@transaction.atomic
def correct_record(
    record: CreditRecord, changes: dict[str, Any], reason: str, today: date | None = None
) -> CreditRecord:
    """更正: a new version of the record with ``changes`` (field code → new value), validated
    like any submitted row; the previous version is kept."""
    if not reason.strip():
        raise DomainError("reason_required", _("请填写更正理由"), "reason")
    record = (
        CreditRecord.objects.select_for_update().select_related("item", "subject").get(pk=record.pk)
    )
    if not record.is_current or record.status != RecordStatus.ACTIVE:
        raise DomainError("record_not_current", _("只能更正当前有效的记录"), status=409)
    spec = record.item.spec
    unknown = set(changes) - {f.code for f in spec.fields}
    if unknown:
        raise DomainError(
            "field_unknown", _("字段不存在：%(f)s") % {"f": "、".join(sorted(unknown))}, "changes"
        )
    key_changes = set(changes) & set(spec.natural_key)
    if key_changes:
        raise DomainError(
            "key_change", _("业务主键字段不能更正，请撤销后重新报送"), sorted(key_changes)[0]
        )
    values = {
        k: (unseal(v) if isinstance(v, str) and v.startswith("s1:") else v)
        for k, v in record.values.items()
    }
    values.update({k: (None if v is None else str(v)) for k, v in changes.items()})
    frame = pl.DataFrame(
        {f.code: [values.get(f.code)] for f in spec.fields},
        schema={f.code: pl.Utf8 for f in spec.fields},
    )
    frame = frame.with_columns(pl.lit(1, dtype=pl.UInt32).alias(ROW))
    tables = {t.code: t.lookup() for t in CodeTable.objects.all()}
    validated = RowValidator(spec, tables, today or timezone.localdate()).validate(frame)
    if validated.errors.height:
        first = validated.errors.row(0, named=True)
        raise DomainError(first["code"], first["message"], first["field"])
    normalized = record_values(validated.frame, spec).row(0, named=True)
    before = record.values
    record.is_current = False
    record.save(update_fields=["is_current"])
    record.events.filter(status=EventStatus.ACTIVE).update(status=EventStatus.SUPERSEDED)
    new = CreditRecord.objects.get(pk=record.pk)
    new.pk = None
    new.version = record.version + 1
    new.is_current = True
    new.data = normalized["data"]
    new.received_at = timezone.now()
    if spec.decision_date:
        new.decision_date = normalized[spec.decision_date]
    new.save()
    event_frame = behavior_events(
        pl.DataFrame([{**normalized, "record_id": new.pk, "subject_id": new.subject_id}]),
        spec,
        record.item,
        today or timezone.localdate(),
        timezone.now(),
    )
    insert_frame("records_creditevent", event_frame)
    touch_subjects([new.subject_id])
    transaction.on_commit(consumers.run_all)
    audit.record(
        "record.correct",
        obj=new,
        subject=record.subject.code,
        purpose=reason[:500],
        before={k: before.get(k) for k in changes},
        after={k: json.loads(new.data).get(k) for k in changes},
    )
    return new


def _rate(part: int, whole: int, empty: float | None) -> float | None:
    return round(part / whole, 4) if whole else empty


@dataclass
class _QualitySums:
    """The running sums of :func:`quality_figures`, one batch at a time."""

    months: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"submitted": 0, "rejected": 0})
    )
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    filled: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    timely: int = 0
    late: int = 0
    sources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, b: IngestBatch) -> None:
        month = self.months[timezone.localtime(b.created_at).strftime("%Y-%m")]
        month["submitted"] += b.submitted
        month["rejected"] += b.rejected
        stats = b.stats or {}
        for code, n in (stats.get("errors") or {}).items():
            self.errors[code] += n
        for code, n in (stats.get("filled") or {}).items():
            self.filled[code][0] += n
            self.filled[code][1] += stats.get("rows", 0)
        t = stats.get("timeliness") or {}
        self.timely += t.get("timely", 0)
        self.late += t.get("late", 0)
        src = self._source(b)
        src["submitted"] += b.submitted
        src["rejected"] += b.rejected
        src["timely"] += t.get("timely", 0)
        src["late"] += t.get("late", 0)
        src["batches"] += 1

    def _source(self, b: IngestBatch) -> dict[str, Any]:
        return self.sources.setdefault(
            (b.department.code, b.item.code),
            {
                "department": b.department.code,
                "department_name": b.department.name,
                "item": b.item.code,
                "item_name": b.item.name,
                **dict.fromkeys(("submitted", "rejected", "timely", "late", "batches"), 0),
            },
        )

    def source_figures(self) -> list[dict[str, Any]]:
        """Per department and item, with their error and timeliness rates, largest first."""
        for src in self.sources.values():
            src["error_rate"] = _rate(src["rejected"], src["submitted"], 0.0)
            src["timely_rate"] = _rate(src["timely"], src["timely"] + src["late"], None)
        return sorted(
            self.sources.values(), key=lambda s: (-s["submitted"], s["department"], s["item"])
        )


def quality_figures(batches: QuerySet[IngestBatch]) -> dict[str, Any]:
    """Data-quality figures over ``batches``: volume per month, error rate and errors by code,
    completeness of optional fields, timeliness — per department and item."""
    done = batches.filter(status=BatchStatus.DONE)
    totals = done.aggregate(
        submitted=Sum("submitted"),
        accepted=Sum("accepted"),
        updated=Sum("updated"),
        unchanged=Sum("unchanged"),
        rejected=Sum("rejected"),
    )
    totals = {k: v or 0 for k, v in totals.items()}
    sums = _QualitySums()
    columns = ("created_at", "submitted", "rejected", "stats", "department__name")
    for b in (
        done.only(*columns, "department__code", "item__code", "item__name")
        .select_related("department", "item")
        .iterator()
    ):
        sums.add(b)
    return {
        "totals": {**totals, "error_rate": _rate(totals["rejected"], totals["submitted"], 0.0)},
        "volume": [{"month": m, **v} for m, v in sorted(sums.months.items())],
        "errors_by_code": dict(sorted(sums.errors.items(), key=lambda kv: -kv[1])),
        "completeness": {
            code: _rate(n, total, None) for code, (n, total) in sorted(sums.filled.items())
        },
        "timeliness": {
            "timely": sums.timely,
            "late": sums.late,
            "rate": _rate(sums.timely, sums.timely + sums.late, None),
        },
        "sources": sums.source_figures(),
    }


def quality_labels(figures: dict[str, Any]) -> dict[str, Any]:
    """The parts of :func:`quality_figures` that pages show by name: errors by code and the
    completeness of fields, each with its label (the code kept as secondary text)."""
    field_labels: dict[str, str] = {}
    for item in CatalogItem.objects.all():
        for f in item.spec.fields:
            field_labels.setdefault(f.code, f.label)
    return {
        "errors": [
            {"code": code, "label": error_label(code), "count": n}
            for code, n in figures["errors_by_code"].items()
        ],
        "completeness": [
            {"code": code, "label": field_labels.get(code, code), "rate": rate}
            for code, rate in figures["completeness"].items()
        ],
    }


def collect_row(
    item_code: str,
    department: Department,
    row: dict[str, Any],
    *,
    external_id: str,
    actor: str,
    today: date | None = None,
) -> CreditRecord:
    """Submit one row that a platform workflow produced (a commitment's verification, an
    inspection result) through the normal ingest path — validated, versioned, classified by
    the behavior list, read by the event consumers — and return its current record. The
    ``external_id`` makes a retry after a crash return the same batch instead of a duplicate.
    A rejected row raises :class:`DomainError` with the validation message."""
    item = CatalogItem.objects.get(code=item_code)
    batch = ingest_rows(
        [row],
        IngestOptions(
            item=item,
            department=department,
            source=BatchSource.API,
            external_id=external_id,
            actor=actor,
            today=today,
        ),
    )
    if batch.rejected or batch.status != BatchStatus.DONE:
        error = batch.errors.first()
        raise DomainError(
            "record_rejected",
            _("%(item)s 未能归集：%(m)s")
            % {"item": item.name, "m": error.message if error else batch.error_message},
        )
    spec = item.spec
    keyed = pl.DataFrame(
        {c: [None if row.get(c) is None else str(row[c])] for c in spec.natural_key},
        schema=dict.fromkeys(spec.natural_key, pl.Utf8),
    )
    key = natural_keys(keyed, spec).item()
    return CreditRecord.objects.current().get(item=item, natural_key=key)
