"""A small district built through the real services, with figures counted by hand:

- 区市场监管局 (SCJG): 3 penalties (3 batches of one row) and one corrected penalty → 3 new
  records, 1 update, 4 batches, nothing rejected. The first penalty (a licence revocation)
  is a serious untrustworthy behavior: its automatic 严重失信主体名单 (YZSX) proposal is
  noticed, decided and published this month, which initiates the joint punishment tasks.
- 区税务局 (SW): one batch of two A-grade-taxpayer rows, one of them with an invalid code →
  1 new record, 1 rejected row (error rate 50 %). The accepted row becomes an entry of the
  纳税信用A级纳税人名单 (imported this month), which is then removed this month.
- The blacklisted subject's enterprise account objects to the penalty (answer due in 5
  working days) and to the list entry (deadline moved into the past: overdue), and applies
  for restoration of the entry (acceptance due in 3 working days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.cockpit import services
from creditplus.lists import objections, restorations
from creditplus.lists import services as lists
from creditplus.lists.choices import EndReason
from creditplus.lists.models import ListEntry, Objection, Restoration
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import IngestBatch
from creditplus.sanctions import checks
from creditplus.subjects.models import Subject
from tests.factories import make_organisations
from tests.records.files import penalty


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test computes its own figures (the cache outlives the rolled-back data)."""
    services.clear_cache()
    yield
    services.clear_cache()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files go to a throwaway directory."""
    settings.MEDIA_ROOT = tmp_path


def pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("a.pdf", b"%PDF-1.4 x", content_type="application/pdf")


def tax_grade_a(subject: Subject, **overrides: str) -> dict[str, str]:
    published = timezone.localdate() - timedelta(days=60)
    row = {
        "NSXY_NSRMC": subject.name,
        "NSXY_ZTLB": "法人及非法人组织",
        "NSXY_NSRSBH": subject.uscc,
        "NSXY_PJND": str(published.year - 1),
        "NSXY_XYJB": "A",
        "NSXY_FBRQ": published.isoformat(),
        "NSXY_YXQZ": (published + timedelta(days=365)).isoformat(),
        "NSXY_SWJG": "国家税务总局上海市浦东新区税务局",
    }
    row.update(overrides)
    return row


@dataclass
class District:
    entry: ListEntry  # the published YZSX entry
    tax_entry: ListEntry  # the imported, then removed, A-grade taxpayer entry
    pending_objection: Objection
    overdue_objection: Objection
    restoration: Restoration


def ingest(item: str, department: str, rows: list[dict[str, str]]) -> IngestBatch:
    """One batch through the normal ingest path (as uploads, the API and the CLI do)."""
    return ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code=item),
            department=Department.objects.get(code=department),
        ),
    )


def publish(entry: ListEntry, officer) -> ListEntry:
    """Notice → decision after the response period → publication (as the lists tests do)."""
    lists.send_notice(entry, officer, today=timezone.localdate() - timedelta(days=30))
    entry.refresh_from_db()
    lists.decide_entry(
        entry,
        officer,
        include=True,
        decision_no="沪浦市监信〔2026〕8号",
        today=entry.response_due + timedelta(days=1),
    )
    return lists.publish_entry(entry, officer)


@pytest.fixture
def district(serious_penalty, proposal, officer, enterprise) -> District:
    decided = timezone.localdate() - timedelta(days=20)
    dates = {
        "处罚决定日期": decided.isoformat(),
        "处罚有效期": (decided + timedelta(days=365)).isoformat(),
    }
    for n in (2, 3):
        assert ingest("CF", "SCJG", [penalty(n, **dates)]).accepted == 1
    corrected = penalty(2, **dates, 违法事实="在网店发布虚假广告（更正）")
    assert ingest("CF", "SCJG", [corrected]).updated == 1

    taxpayer = make_organisations(1, start=5000)[0]
    batch = ingest(
        "NSXY_A",
        "SW",
        [tax_grade_a(taxpayer), tax_grade_a(taxpayer, NSXY_NSRSBH="913101150000000000")],
    )
    assert (batch.accepted, batch.rejected) == (1, 1)
    consumers.run("lists")
    tax_entry = ListEntry.objects.get(list_type__code="NSXY_A", subject=taxpayer)
    # A green-lane check of the A-grade taxpayer triggers its reward tasks (on-application),
    # which the entry's removal then closes without feedback.
    checks.check_subject(officer, taxpayer.uscc, "LSTD", "绿色通道办理")
    tax_entry = lists.remove_entry(tax_entry, EndReason.SOURCE_REMOVED)

    # The legal representative receives the blacklist's standing measures (CJ-42 信用约谈…).
    Subject.objects.filter(pk=proposal.subject_id).update(legal_rep_name="李四")
    entry = publish(proposal, officer)
    pending_objection = objections.submit_objection(
        enterprise, record=serious_penalty, reason="违法事实表述有误"
    )
    overdue_objection = objections.submit_objection(
        enterprise, entry=entry, reason="处罚已被行政复议撤销"
    )
    Objection.objects.filter(pk=overdue_objection.pk).update(
        due_on=timezone.localdate() - timedelta(days=3)
    )
    overdue_objection.refresh_from_db()
    ListEntry.objects.filter(pk=entry.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    entry.refresh_from_db()
    restoration = restorations.apply_restoration(
        enterprise, entry=entry, statement="已整改并缴清罚款", commitment_signed=True, files=[pdf()]
    )
    return District(entry, tax_entry, pending_objection, overdue_objection, restoration)
