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
from tests.records.files import ORG_USCC, penalty


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


# A small world for the consumers' tests: three organisations, penalties of each severity and
# court records (失信被执行人), one row a batch.
NAMES = [f"上海批量测试{i}号有限公司" for i in range(3)]
KINDS = {
    "serious": {
        "处罚类别": "吊销许可证件",
        "处罚内容": "吊销食品经营许可证",
        "暂扣或吊销证照名称及编号": "食品经营许可证 JY13101150000001",
    },
    "general": {},
    "minor": {"处罚类别": "警告", "处罚内容": "警告", "罚款金额(万元)": ""},
}


def court_record(
    case: str, published: date, *, name: str, uscc: str, removed: date | None = None
) -> dict[str, str]:
    """A 失信被执行人 row of the court (an external list's source record)."""
    return {
        "被执行人姓名/名称": name,
        "被执行人类别": "法人及非法人组织",
        "统一社会信用代码": uscc,
        "法定代表人或者负责人姓名": "李四",
        "案号": case,
        "执行法院": "上海市浦东新区人民法院",
        "执行依据文号": "（2024）沪0115民初1号",
        "作出执行依据单位": "上海市浦东新区人民法院",
        "立案日期": (published - timedelta(days=60)).isoformat(),
        "生效法律文书确定的义务": "支付货款100万元",
        "被执行人的履行情况": "全部未履行",
        "失信被执行人行为具体情形": "有履行能力而拒不履行",
        "发布日期": published.isoformat(),
        "删除日期": removed.isoformat() if removed else "",
    }


def ingest_item(n: int, item: tuple[str, int, int]) -> None:
    """One batch of one row (a unique natural key each)."""
    what, subject, days = item
    day = timezone.localdate() - timedelta(days=days)
    if what == "court":
        case = f"（2026）沪0115执{n}号"
        row = court_record(case, day, name=NAMES[subject], uscc=ORG_USCC[subject])
        code, dept = "SXBZX", "FY"
    else:
        code, dept = "CF", "SCJG"
        row = penalty(
            n,
            **{
                "行政相对人名称": NAMES[subject],
                "统一社会信用代码": ORG_USCC[subject],
                "处罚决定日期": day.isoformat(),
                "处罚有效期": (day + timedelta(days=3 * 365)).isoformat(),
                **KINDS[what],
            },
        )
    ingest_rows(
        [row],
        IngestOptions(
            item=CatalogItem.objects.get(code=code), department=Department.objects.get(code=dept)
        ),
    )
