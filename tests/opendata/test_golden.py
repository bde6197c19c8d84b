"""The publication's files, byte for byte, across a sequence of days: additions,
corrections, retractions, expiries, restorations and list removals, and a re-run.

The expected files under ``tests/opendata/golden/`` were written by the implementation that
built every row in Python and compared whole datasets in memory, before the chunked one
replaced it: the same data must keep giving the same files. Regenerate them only for an
intended change of the file format: ``CREDITPLUS_OPENDATA_GOLDEN=write pytest …``.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.lists import services as lists
from creditplus.lists.choices import EndReason
from creditplus.lists.models import ListEntry, ListType
from creditplus.opendata import datasets, runs, services
from creditplus.opendata.models import PublishedItem
from creditplus.opendata.services import publish
from creditplus.records.models import CreditRecord
from creditplus.records.services import restore_event, retract_record
from creditplus.subjects.models import Subject
from tests.opendata.helpers import collect, license_row, penalty_row

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("CREDITPLUS_OPENDATA_GOLDEN") == "write"
SHANGHAI = ZoneInfo("Asia/Shanghai")
D1 = date(2026, 3, 2)
DAYS = [D1 + timedelta(days=n) for n in range(4)]
PERSON_ID = "310115198503071230"


def at(day: date, hour: int = 2) -> time_machine.travel:
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False
    )


def lic(n: int, until: date, **overrides) -> dict:
    decided = D1 - timedelta(days=40 + n)
    return license_row(
        n,
        许可决定日期=decided.isoformat(),
        有效期自=decided.isoformat(),
        有效期至=until.isoformat(),
        **overrides,
    )


def pen(n: int, **overrides) -> dict:
    decided = D1 - timedelta(days=20 + n % 3)  # several records share a decision date
    return penalty_row(
        n,
        处罚决定日期=decided.isoformat(),
        处罚有效期=(decided + timedelta(days=365)).isoformat(),
        **overrides,
    )


def entry(pk: int, subject: Subject, list_code: str, published: date) -> ListEntry:
    return ListEntry.objects.create(
        pk=pk,  # the entry number MD<pk> is in the files
        list_type=ListType.objects.get(code=list_code),
        subject=subject,
        origin="manual",
        status="published",
        department=Department.objects.get(code="SCJG"),
        reason="测试",
        basis="《上海市社会信用条例》第三十条",
        decision_no=f"沪浦市监信〔2026〕{pk}号",
        proposed_at=timezone.now(),
        proposed_by="test",
        decided_on=published,
        published_on=published,
        publish_until=published + timedelta(days=365),
    )


def day1(officer) -> dict:
    d = DAYS[0]
    records = {
        "lic_long": collect("XK", lic(1, D1 + timedelta(days=900)), today=d),
        "lic_expires": collect("XK", lic(2, DAYS[1]), today=d),  # 有效期至 passes on day 3
        "lic_quote": collect(
            "XK",
            lic(3, D1 + timedelta(days=500), 许可内容='预包装食品销售,"散装"食品\n熟食'),
            today=d,
        ),
        "pen_kept": collect("CF", pen(11, **{"罚款金额(万元)": "5.50"}), today=d),
        "pen_corrected": collect("CF", pen(12), today=d),
        "pen_restored": collect("CF", pen(13), today=d),
        "pen_retracted": collect("CF", pen(14), today=d),
        "pen_ends": collect("CF", pen(15, 公示截止期=DAYS[1].isoformat()), today=d),
        "pen_formula": collect("CF", pen(16, 违法事实='=HYPERLINK("http://x.cn","点")'), today=d),
        "pen_minor": collect(
            "CF", pen(17, 处罚类别="警告", 处罚内容="警告", **{"罚款金额(万元)": ""}), today=d
        ),
        "pen_person": collect(
            "CF",
            pen(
                18,
                行政相对人名称="王五",
                行政相对人类别="自然人",
                统一社会信用代码="",
                法定代表人="",
                证件类型="身份证",
                证件号码=PERSON_ID,
            ),
            today=d,
        ),
    }
    org = records["pen_kept"].subject
    person = Subject.objects.by_code(PERSON_ID).get()
    entries = {
        "org": entry(9001, org, "YZSX", d),
        "person": entry(9002, person, "YZSX", d),
        "restored": entry(9003, records["pen_restored"].subject, "YZSX", d),
    }
    return {"records": records, "entries": entries}


def day2(state: dict, officer) -> None:
    d, records = DAYS[1], state["records"]
    collect("XK", lic(4, D1 + timedelta(days=700)), today=d)  # added
    collect("CF", pen(12, 处罚内容="罚款人民币陆万元", **{"罚款金额(万元)": "6"}), today=d)
    restore_event(records["pen_restored"].events.get(), "信用修复：已整改")
    retract_record(records["pen_retracted"], "处罚决定被撤销")
    lists.remove_entry(
        state["entries"]["restored"], EndReason.RESTORED, user=officer, note="信用修复"
    )


def day3(state: dict, officer) -> None:
    d = DAYS[2]
    # The correction is corrected again, a new penalty and a list entry are added.
    collect("CF", pen(12, 处罚内容="罚款人民币柒万元", **{"罚款金额(万元)": "7"}), today=d)
    collect("CF", pen(19), today=d)
    entry(9004, state["records"]["pen_corrected"].subject, "YZSX", d)


def day4(state: dict, officer) -> None:
    d = DAYS[3]
    lists.remove_entry(state["entries"]["org"], EndReason.REVOKED, user=officer, note="撤销认定")
    collect("XK", lic(5, D1 + timedelta(days=800)), today=d)


def day4_later(state: dict, officer) -> None:
    """Later on day 4, before its re-run: one more license, one correction taken back."""
    d = DAYS[3]
    collect("XK", lic(6, D1 + timedelta(days=800)), today=d)
    record = CreditRecord.objects.current().get(natural_key__startswith="沪浦市监许〔2025〕5号")
    collect("XK", lic(5, D1 + timedelta(days=801)), today=d)
    assert not CreditRecord.objects.current().filter(pk=record.pk).exists()


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def check(directory: Path, name: str) -> None:
    """The directory's files are the golden ones of ``name`` (or become them)."""
    expected = GOLDEN / name
    actual = files_of(directory)
    if WRITE:
        expected.mkdir(parents=True, exist_ok=True)
        for old in expected.iterdir():
            old.unlink()
        for file, content in actual.items():
            (expected / file).write_bytes(content)
        return
    assert sorted(actual) == sorted(p.name for p in expected.iterdir()), name
    for file, content in actual.items():
        assert content == (expected / file).read_bytes(), f"{name}/{file} differs"


def state_rows() -> list[tuple]:
    return sorted(
        PublishedItem.objects.values_list(
            "dataset",
            "key",
            "digest",
            "first_seen",
            "last_changed",
            "removed_on",
            "prev_digest",
            "prev_last_changed",
            "prev_removed_on",
        )
    )


@pytest.fixture(params=["default", "tiny-chunks", "read-everything"])
def chunking(request, monkeypatch):
    """The default chunk sizes, chunks of two rows merged a row at a time, or every day
    reading every record again instead of what changed since the previous publication: the
    files must not depend on how a run cuts or reads the data."""
    if request.param == "read-everything":
        monkeypatch.setattr(services, "_cached_rows", lambda *args: None)
    if request.param == "tiny-chunks":
        monkeypatch.setattr(datasets, "CHUNK", 2)
        monkeypatch.setattr(services, "STATE_CHUNK", 2)
        monkeypatch.setattr(runs, "MERGE_ROWS", 1)
        monkeypatch.setattr(runs, "MIN_BATCH", 1)
        monkeypatch.setattr(runs, "ROW_GROUP", 1)
    return request.param


def test_a_sequence_of_days_gives_the_golden_files(reference, opendata_dir, officer, chunking):
    if WRITE and chunking != "default":
        pytest.skip("the golden files are written once")
    steps = [day2, day3, day4]
    with at(DAYS[0]):
        state = day1(officer)
    for n, day in enumerate(DAYS):
        with at(day):
            if n:
                steps[n - 1](state, officer)
            publish(day)
        check(opendata_dir / day.isoformat(), day.isoformat())
    with at(DAYS[3], hour=9):
        day4_later(state, officer)
        publish(DAYS[3])
    check(opendata_dir / DAYS[3].isoformat(), f"{DAYS[3].isoformat()}-rerun")
    golden_state = GOLDEN / "state.txt"
    text = "\n".join(repr(row) for row in state_rows()) + "\n"
    if WRITE:
        golden_state.write_text(text, encoding="utf-8")
    else:
        assert text == golden_state.read_text(encoding="utf-8")
