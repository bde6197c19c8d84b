"""External lists (失信被执行人 …) arrive through the collection path, decided by their owner:
imported as published entries, ended by the owner's removal date, withdrawn with the record."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent, Department
from creditplus.catalog.calendar import add_months
from creditplus.catalog.models import CatalogItem
from creditplus.lists.models import ListEntry
from creditplus.lists.restorations import eligibility
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord
from creditplus.records.services import retract_record
from creditplus.sanctions import monitoring
from creditplus.sanctions.models import Alert, SanctionCase
from creditplus.subjects.models import Subject, SubjectAccount
from tests.conftest import client_for
from tests.factories import make_organisations, make_user
from tests.lists.fixtures import court_record

pytestmark = pytest.mark.django_db


def debtor(case: str, published: date, removed: date | None = None) -> dict[str, str]:
    return court_record(
        case, published, name="上海失信测试有限公司", uscc="91310115MA1K3BTP2B", removed=removed
    )


def ingest(*rows: dict[str, str]) -> None:
    ingest_rows(
        list(rows),
        IngestOptions(
            item=CatalogItem.objects.get(code="SXBZX"), department=Department.objects.get(code="FY")
        ),
    )
    consumers.run("lists")


def test_a_court_record_becomes_a_published_entry_for_the_default_period(reference):
    published = timezone.localdate() - timedelta(days=10)
    ingest(debtor("（2026）沪0115执1号", published), debtor("（2026）沪0115执2号", published))
    entries = ListEntry.objects.filter(list_type__code="SXBZX").order_by("source_key")
    assert [e.status for e in entries] == ["published", "published"]  # one per case
    entry = entries[0]
    assert entry.origin == "imported" and entry.department.code == "FY"
    assert entry.decided_on == published
    assert entry.publish_until == add_months(published, 24)  # default_months from the data
    assert entry.restoration_from is None  # the court removes, not a restoration
    assert list(entry.timeline.values_list("action", flat=True)) == ["import"]
    assert AuditEvent.objects.filter(action="list.import").count() == 2  # one per entry
    # Running the consumer again adds nothing.
    consumers.run("lists")
    assert ListEntry.objects.filter(list_type__code="SXBZX").count() == 2


def test_the_owners_removal_date_ends_the_entry_at_maintenance(reference):
    published = timezone.localdate() - timedelta(days=100)
    ingest(debtor("（2026）沪0115执3号", published))
    entry = ListEntry.objects.get(list_type__code="SXBZX")
    # The court deletes the debtor: a new version of the record with 删除日期.
    removed = timezone.localdate() - timedelta(days=1)
    ingest(debtor("（2026）沪0115执3号", published, removed))
    entry.refresh_from_db()
    assert entry.publish_until == removed and entry.status == "published"
    out = StringIO()
    call_command("lists_maintain", stdout=out)
    entry.refresh_from_db()
    assert entry.status == "removed" and entry.end_reason == "source_removed"
    assert "来源部门移出 1 条" in out.getvalue()
    call_command("lists_maintain", stdout=out)  # idempotent
    assert ListEntry.objects.filter(status="removed").count() == 1
    assert AuditEvent.objects.filter(action="list.remove", actor_name__startswith="cli:").exists()


def test_a_retracted_source_record_removes_the_entry(reference):
    ingest(debtor("（2026）沪0115执4号", timezone.localdate() - timedelta(days=5)))
    record = CreditRecord.objects.get(item__code="SXBZX")
    retract_record(record, "法院撤销失信决定")
    call_command("lists_maintain", stdout=StringIO())
    entry = ListEntry.objects.get(list_type__code="SXBZX")
    assert entry.status == "removed" and entry.end_reason == "source_removed"


def test_an_already_expired_record_adds_no_entry(reference):
    ingest(debtor("（2023）沪0115执5号", date(2023, 1, 10)))
    assert not ListEntry.objects.filter(list_type__code="SXBZX").exists()


def tax_blacklisting(decided: date, until: date) -> dict[str, str]:
    """A 重大税收违法失信主体 of 区税务局 whose owner publishes it until ``until``."""
    return {
        "纳税人名称（姓名）": "上海税收失信测试有限公司",
        "失信主体类别": "法人及非法人组织",
        "纳税人识别号（统一社会信用代码）": "91310115MA1K3BTP2B",
        "案件性质": "01",
        "主要违法事实": "虚假申报少缴税款",
        "相关法律依据及税务处理处罚情况": "依法追缴税款并处罚款",
        "失信主体确定文书文号": "沪税稽失〔2026〕1号",
        "确定日期": decided.isoformat(),
        "公布日期": decided.isoformat(),
        "公布截止日期": until.isoformat(),
        "确定失信主体的税务机关": "国家税务总局上海市浦东新区税务局",
        "税务机关统一社会信用代码": "113101150024257581",
    }


def test_publicity_ending_before_the_minimum_period_means_expiry_not_restoration(reference):
    """重大税收违法失信主体 published for one year while restoration opens after 12 months:
    restoration would open the day after publicity ends. It must never open then; the entry
    shows 期满移出 (the issue's example: published 2026-09-18, until 2027-09-17)."""
    decided = timezone.localdate() - timedelta(days=60)
    until = add_months(decided, 12) - timedelta(days=1)
    ingest_rows(
        [tax_blacklisting(decided, until)],
        IngestOptions(
            item=CatalogItem.objects.get(code="SSWF"), department=Department.objects.get(code="SW")
        ),
    )
    consumers.run("lists")
    entry = ListEntry.objects.get(list_type__code="SSWF")
    assert entry.publish_until == until
    assert entry.restoration_from is None and entry.expires_before_restoration
    for day in (timezone.localdate(), until, until + timedelta(days=1)):
        check = eligibility(entry=entry, today=day)
        assert not check.allowed and check.code == "expires_first", day

    user = make_user(Role.ENTERPRISE, username="shuiwu_qiye")
    SubjectAccount.objects.create(
        user=user, subject=Subject.objects.get(uscc="91310115MA1K3BTP2B"), bound_by="window"
    )
    page = client_for(user).get(f"/my/lists/{entry.pk}/").content.decode()
    assert f"期满移出（{until:%Y-%m-%d}）" in page
    assert add_months(decided, 12).isoformat() not in page
    assert "申请信用修复" not in page.split("期满移出")[1][:200]


def test_a_longer_publicity_keeps_the_restoration_date(reference):
    decided = timezone.localdate() - timedelta(days=60)
    until = add_months(decided, 36)
    ingest_rows(
        [tax_blacklisting(decided, until)],
        IngestOptions(
            item=CatalogItem.objects.get(code="SSWF"), department=Department.objects.get(code="SW")
        ),
    )
    consumers.run("lists")
    entry = ListEntry.objects.get(list_type__code="SSWF")
    assert entry.restoration_from == add_months(decided, 12)
    assert not entry.expires_before_restoration


def test_an_import_reads_and_writes_in_statements_not_per_entry(reference, officer):
    """Ten times the entries, the same number of statements: the subjects are read once
    with the fields that entries, cases, alerts and audit rows show, so no listener reads a
    deferred field per entry; only the watched subject gets an alert, with its name."""
    published = timezone.localdate() - timedelta(days=10)

    def statements(subjects: list[Subject]) -> int:
        rows = [
            {
                **debtor(f"（2026）沪0115执{s.pk}号", published),
                "统一社会信用代码": s.uscc,
                "被执行人姓名/名称": s.name,
            }
            for s in subjects
        ]
        ingest_rows(
            rows,
            IngestOptions(
                item=CatalogItem.objects.get(code="SXBZX"),
                department=Department.objects.get(code="FY"),
            ),
        )
        with CaptureQueriesContext(connection) as queries:
            consumers.run("lists")
        return len(queries.captured_queries)

    first, few, many = (
        make_organisations(n, start=s) for n, s in ((1, 7000), (2, 7100), (20, 7200))
    )
    monitoring.subscribe(officer, [few[0].uscc, many[0].uscc])
    statements(first)  # the first run also reads what is cached for the process after
    assert statements(few) == statements(many)
    assert SanctionCase.objects.count() == 23  # one per published entry (with its tasks)
    assert ListEntry.objects.filter(list_type__code="SXBZX").count() == 23
    alerts = Alert.objects.order_by("pk")
    assert [a.subject_id for a in alerts] == [few[0].pk, many[0].pk]
    assert all(a.title.startswith(s.name) for a, s in zip(alerts, [few[0], many[0]], strict=True))
