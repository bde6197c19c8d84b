"""Fixtures of the list lifecycle (a pytest plugin, loaded by tests/conftest.py): a subject with a recent serious penalty (which the lists
consumer turns into an automatic blacklist proposal) and its bound enterprise account."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.lists.models import ListEntry
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord
from creditplus.subjects.models import Subject, SubjectAccount
from tests.factories import make_user
from tests.records.files import penalty


def ingest_penalty(n: int = 1, decided: date | None = None, **overrides: str) -> CreditRecord:
    """Ingest one 行政处罚 of 区市场监管局 and run the lists consumer (in tests the batch's
    on-commit hook does not fire, the test transaction never commits)."""
    decided = decided or timezone.localdate() - timedelta(days=30)
    row = penalty(
        n,
        **{
            "处罚决定日期": decided.isoformat(),
            "处罚有效期": (decided + timedelta(days=3 * 365)).isoformat(),
            **overrides,
        },
    )
    ingest_rows(
        [row],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    consumers.run("lists")
    return CreditRecord.objects.current().get(natural_key__contains=row["行政处罚决定书文号"])


@pytest.fixture
def serious_penalty(reference) -> CreditRecord:
    """A licence revocation (吊销许可证件, a serious untrustworthy behavior) 30 days ago."""
    return ingest_penalty(
        1,
        处罚类别="吊销许可证件",
        处罚内容="吊销食品经营许可证",
        暂扣或吊销证照名称及编号="食品经营许可证 JY13101150000001",
    )


@pytest.fixture
def subject(serious_penalty) -> Subject:
    return serious_penalty.subject


@pytest.fixture
def proposal(serious_penalty) -> ListEntry:
    """The automatic 严重失信主体名单 proposal, owned by 区市场监管局 (SCJG)."""
    return ListEntry.objects.get(list_type__code="YZSX", subject=serious_penalty.subject)


@pytest.fixture
def enterprise(subject):
    """The subject's enterprise account (bound at a service window)."""
    user = make_user(Role.ENTERPRISE, username="qiye", first_name="企业经办人")
    SubjectAccount.objects.create(
        user=user, subject=subject, verified_by="营业执照核验", bound_by="window"
    )
    return user
