"""The set-based event consumers decide per batch of events: processing a whole stream of
batches in one consumer run — in one window of events or in windows of one event (a bulk
load reads its backlog in large windows) — gives the same list entries, sanction cases and
tasks, and monitoring alerts as running the consumers after every batch (property test over random
streams on a small world: three organisations, one watched; serious, general and minor
penalties and court records, dated across the triggers' periods)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.lists.models import ListEntry
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.sanctions.models import Alert, SanctionCase, SanctionTask
from creditplus.sanctions.monitoring import subscribe
from creditplus.subjects.models import Subject
from tests.records.files import ORG_USCC, penalty

pytestmark = pytest.mark.django_db

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

# One element of a stream: (what, subject 0–2, days before today).
batch_item = st.tuples(
    st.sampled_from(["serious", "general", "minor", "court"]),
    st.integers(0, 2),
    st.integers(0, 900),
)


def court_record(n: int, subject: int, published: Any) -> dict[str, str]:
    return {
        "被执行人姓名/名称": NAMES[subject],
        "被执行人类别": "法人及非法人组织",
        "统一社会信用代码": ORG_USCC[subject],
        "法定代表人或者负责人姓名": "李四",
        "案号": f"（2026）沪0115执{n}号",
        "执行法院": "上海市浦东新区人民法院",
        "执行依据文号": "（2024）沪0115民初1号",
        "作出执行依据单位": "上海市浦东新区人民法院",
        "立案日期": (published - timedelta(days=60)).isoformat(),
        "生效法律文书确定的义务": "支付货款100万元",
        "被执行人的履行情况": "全部未履行",
        "失信被执行人行为具体情形": "有履行能力而拒不履行",
        "发布日期": published.isoformat(),
        "删除日期": "",
    }


def ingest_item(n: int, item: tuple[str, int, int]) -> None:
    """One batch of one row (a unique natural key each)."""
    what, subject, days = item
    day = timezone.localdate() - timedelta(days=days)
    if what == "court":
        code, dept, row = "SXBZX", "FY", court_record(n, subject, day)
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


def run_consumers(window: int = consumers.BATCH) -> None:
    consumers.run("lists", window)
    consumers.run("monitoring", window)


def outcome() -> dict[str, list[tuple]]:
    """What the consumers decided, by natural keys (ids and clock times differ per world).
    An automatic proposal's evidence, reason and department (that of its latest evidence)
    are the events in force when it was made, so they depend on the batching by design."""
    entries = ListEntry.objects.values_list(
        "list_type__code",
        "subject__uscc",
        "origin",
        "status",
        "source_key",
        "department__code",
        "decided_on",
        "publish_until",
        "restoration_from",
    )
    return {
        "entries": sorted((*e[:5], e[5] if e[2] == "imported" else "", *e[6:]) for e in entries),
        "cases": sorted(
            SanctionCase.objects.values_list(
                "entry__list_type__code", "subject__uscc", "origin", "status"
            )
        ),
        "tasks": sorted(
            SanctionTask.objects.values_list(
                "case__entry__list_type__code",
                "case__subject__uscc",
                "measure__code",
                "department__code",
                "target",
                "status",
            )
        ),
        "alerts": sorted(
            Alert.objects.values_list("department__code", "subject__uscc", "kind", "title")
        ),
    }


def world(
    stream: list[tuple[str, int, int]], *, each: bool, window: int = consumers.BATCH
) -> dict[str, list[tuple]]:
    """Ingest ``stream`` and run the consumers after each batch or once at the end (reading
    ``window`` events at a time); the outcome, then everything rolled back."""
    with transaction.atomic():
        for n, item in enumerate(stream, start=1):
            ingest_item(n, item)
            if each:
                run_consumers()
        if not each:
            run_consumers(window)
        result = outcome()
        transaction.set_rollback(True)
    return result


@pytest.fixture
def watched(reference, officer):
    """The three organisations; the first watched by 区市场监管局 (its alerts)."""
    for uscc, name in zip(ORG_USCC, NAMES, strict=False):
        Subject.objects.create(kind="legal", uscc=uscc, name=name, registered=True)
    subscribe(officer, [ORG_USCC[0]])


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=st.lists(batch_item, min_size=1, max_size=6))
def test_one_consumer_run_decides_as_runs_after_every_batch(watched, stream):
    once = world(stream, each=False)
    assert once == world(stream, each=True)
    assert once == world(stream, each=False, window=1)


def test_the_worlds_differ_when_the_stream_makes_proposals(watched):
    """The oracle is not vacuous: a stream with a serious penalty and three general ones
    yields a blacklist proposal, a watch-list proposal, an imported court entry with its
    case, and alerts for the watched subject."""
    stream = [("serious", 0, 10), ("general", 1, 20), ("general", 1, 30), ("court", 0, 5)]
    result = world(stream, each=False)
    assert {(e[0], e[1], e[2]) for e in result["entries"]} >= {
        ("YZSX", ORG_USCC[0], "auto"),
        ("ZDGZ", ORG_USCC[1], "auto"),
        ("SXBZX", ORG_USCC[0], "imported"),
    }
    assert result["cases"] and result["alerts"]
    assert result == world(stream, each=True)
