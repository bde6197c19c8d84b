"""Retraction (撤销) and correction (更正) of records: versions kept, events ended, audited."""

from __future__ import annotations

import pytest

from creditplus.accounts.models import AuditEvent, Department
from creditplus.catalog.models import CatalogItem
from creditplus.errors import DomainError
from creditplus.records import services
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditEvent, CreditRecord
from tests.records.files import penalty

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(reference):
    ingest_rows(
        [penalty(1)],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    return CreditRecord.objects.get()


def test_retraction_ends_the_events_and_is_audited_once(record):
    services.retract_record(record, "行政复议决定撤销原处罚")
    record.refresh_from_db()
    assert record.status == "retracted" and not CreditRecord.objects.current().exists()
    assert set(CreditEvent.objects.values_list("status", flat=True)) <= {"retracted"}
    assert AuditEvent.objects.filter(action="record.retract", object_id=str(record.pk)).count() == 1
    with pytest.raises(DomainError):
        services.retract_record(record, "再次撤销")


def test_correction_creates_a_new_version_and_keeps_the_old(record):
    new = services.correct_record(record, {"CF_NR_FK": "3"}, "罚款金额录入错误")
    old = CreditRecord.objects.get(pk=record.pk)
    assert (old.is_current, new.is_current, new.version) == (False, True, 2)
    assert float(new.values["CF_NR_FK"]) == 3.0
    event = AuditEvent.objects.get(action="record.correct")
    assert event.before == {"CF_NR_FK": "5"} and event.after == {"CF_NR_FK": "3"}


def test_an_invalid_correction_is_refused_with_the_row_error(record):
    with pytest.raises(DomainError) as excinfo:
        services.correct_record(record, {"CF_NR_FK": "-1"}, "更正")
    assert excinfo.value.code == "amount_negative"
    assert CreditRecord.objects.get(pk=record.pk).is_current


def test_the_natural_key_cannot_be_corrected(record):
    with pytest.raises(DomainError) as excinfo:
        services.correct_record(record, {"CF_WSH": "新文号"}, "更正")
    assert excinfo.value.code == "key_change"
