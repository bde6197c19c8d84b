"""The daily publication: public snapshots, deltas against the previous day, re-runs and
failed runs. Records come through the ingest path; the written files are read back."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import time_machine
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.errors import DomainError
from creditplus.lists import services as lists
from creditplus.lists.choices import EndReason
from creditplus.lists.models import ListEntry, ListType
from creditplus.opendata import datasets, runs, services
from creditplus.opendata.choices import PublicationStatus
from creditplus.opendata.models import Publication, PublishedItem
from creditplus.opendata.services import latest_publication, publish
from creditplus.records.services import restore_event
from creditplus.subjects.models import Subject
from tests.lists.fixtures import ingest_penalty
from tests.opendata.helpers import (
    DAY1,
    DAY2,
    collect,
    csv_header,
    license_row,
    penalty_row,
    publish_entry,
    read_csv,
    read_json,
)
from tests.records.files import PERSON_ID

pytestmark = pytest.mark.django_db

# The penalised natural person's ID (PERSON_ID is the legal representatives' in the rows).
PERSON2_ID = "310115198503071230"

FILES = {
    f"{dataset}{kind}.{fmt}"
    for dataset in ("licenses", "penalties", "lists")
    for kind in ("", "-delta")
    for fmt in ("csv", "json")
} | {"manifest.json"}


def key(record) -> str:
    return f"{record.item.code}|{record.natural_key}"


def by_key(rows: list[dict]) -> dict[str, dict]:
    return {row["key"]: row for row in rows}


def as_csv_text(rows: list[dict]) -> list[dict]:
    """JSON rows as the CSV shows them (null is an empty cell)."""
    return [{k: "" if v is None else v for k, v in row.items()} for row in rows]


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def state() -> list[tuple]:
    return sorted(
        PublishedItem.objects.values_list(
            "dataset", "key", "digest", "first_seen", "last_changed", "removed_on"
        )
    )


def person_on_blacklist() -> Subject:
    """A natural person with a (unpublished) penalty, published on 严重失信主体名单."""
    collect(
        "CF",
        penalty_row(
            13,
            行政相对人名称="王五",
            行政相对人类别="自然人",
            统一社会信用代码="",
            法定代表人="",
            证件类型="身份证",
            证件号码=PERSON2_ID,
        ),
    )
    person = Subject.objects.by_code(PERSON2_ID).get()
    ListEntry.objects.create(
        list_type=ListType.objects.get(code="YZSX"),
        subject=person,
        origin="manual",
        status="published",
        department=Department.objects.get(code="SCJG"),
        reason="测试",
        decision_no="沪浦市监信〔2026〕9号",
        proposed_at=timezone.now(),
        proposed_by="test",
        decided_on=DAY1,
        published_on=DAY1,
        publish_until=DAY1 + timedelta(days=365),
    )
    return person


def test_snapshot_holds_only_public_items_and_public_fields(reference, opendata_dir):
    license = collect("XK", license_row(1))
    collect("XK", license_row(2, 有效期至=(DAY1 - timedelta(days=1)).isoformat()))  # expired
    general = collect("CF", penalty_row(11))
    minor = collect(
        "CF", penalty_row(12, 处罚类别="警告", 处罚内容="警告", **{"罚款金额(万元)": ""})
    )
    person = person_on_blacklist()

    result = publish(DAY1)
    directory = opendata_dir / DAY1.isoformat()
    assert result.directory == directory
    assert {p.name for p in directory.iterdir()} == FILES

    header = csv_header(directory / "licenses.csv")
    assert header[:4] == [
        "数据标识[key]",
        "首次发布日期[first_seen]",
        "最近变更日期[last_changed]",
        "行政相对人名称[XK_XDR_MC]",
    ]
    assert "许可决定日期[XK_JDRQ]" in header
    assert not {h for h in header if "ZJHM" in h or "ZJLX" in h}  # no ID fields at all

    licenses = read_csv(directory / "licenses.csv")
    assert [row["key"] for row in licenses] == [key(license)]
    assert licenses[0]["XK_XDR_MC"] == "上海许可1号餐饮有限公司"
    assert licenses[0]["XK_FRDB"] == "李四"
    assert licenses[0]["first_seen"] == licenses[0]["last_changed"] == DAY1.isoformat()
    assert as_csv_text(read_json(directory / "licenses.json")) == licenses

    penalties = by_key(read_csv(directory / "penalties.csv"))
    assert list(penalties) == [key(general)]  # not the minor one, not the person's
    assert key(minor) not in penalties
    assert penalties[key(general)]["CF_NR_FK"] == "5"

    entries = read_json(directory / "lists.json")
    assert [(e["subject_name"], e["subject_code"]) for e in entries] == [("王*", None)]
    assert (
        entries[0]["list_code"] == "YZSX" and entries[0]["decision_no"] == "沪浦市监信〔2026〕9号"
    )

    for name, content in files_of(directory).items():
        text = content.decode("utf-8-sig")
        for number in (PERSON_ID, PERSON2_ID):
            assert number not in text, name
        assert person.id_masked not in text, name  # not even masked
        assert "王五" not in text, name

    # The first publication's deltas list everything as added.
    delta = read_csv(directory / "licenses-delta.csv")
    assert [(row["change"], row["key"]) for row in delta] == [("added", key(license))]


def test_manifest_describes_every_file(reference, opendata_dir):
    collect("XK", license_row(1))
    publish(DAY1)
    directory = opendata_dir / DAY1.isoformat()
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["date"] == DAY1.isoformat() and manifest["previous"] is None
    assert {f["name"] for f in manifest["files"]} == FILES - {"manifest.json"}
    for entry in manifest["files"]:
        content = (directory / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["bytes"] == len(content)
        rows = read_json(directory / entry["name"].replace(".csv", ".json"))
        assert entry["rows"] == len(rows)
    licenses = next(d for d in manifest["datasets"] if d["name"] == "licenses")
    assert licenses["rows"] == 1 and licenses["added"] == 1
    assert {"code": "XK_XDR_MC", "label": "行政相对人名称"} in licenses["columns"]
    assert Publication.objects.get().files == manifest["files"]


@pytest.fixture
def day_one(reference, opendata_dir, proposal, officer):
    """DAY1: a license, four penalties and two published blacklist entries, published."""
    records = {
        "license": collect("XK", license_row(3)),
        "ends": collect("CF", penalty_row(21, 公示截止期=DAY1.isoformat())),
        "corrected": collect("CF", penalty_row(22)),
        "restored": collect("CF", penalty_row(23)),
    }
    second = ingest_penalty(
        2,
        处罚类别="吊销许可证件",
        处罚内容="吊销食品经营许可证",
        暂扣或吊销证照名称及编号="食品经营许可证 JY13101150000002",
    )
    entries = {
        "kept": publish_entry(proposal, officer, "沪浦市监信〔2026〕1号"),
        "removed": publish_entry(
            ListEntry.objects.get(list_type__code="YZSX", subject=second.subject),
            officer,
            "沪浦市监信〔2026〕2号",
        ),
    }
    publish(DAY1)
    return records, entries


def test_second_day_delta_lists_added_changed_and_removed_items(day_one, opendata_dir, officer):
    records, entries = day_one
    new_license = collect("XK", license_row(4), today=DAY2)
    collect(
        "CF",
        penalty_row(22, 处罚内容="罚款人民币陆万元", **{"罚款金额(万元)": "6"}),
        today=DAY2,
    )  # a new version of "corrected"
    restore_event(records["restored"].events.get(), "信用修复：已整改")
    lists.remove_entry(entries["removed"], EndReason.REVOKED, user=officer, note="认定决定被撤销")

    result = publish(DAY2)
    directory = opendata_dir / DAY2.isoformat()
    day1, day2 = DAY1.isoformat(), DAY2.isoformat()

    licenses = read_csv(directory / "licenses-delta.csv")
    assert [(r["change"], r["key"], r["first_seen"], r["last_changed"]) for r in licenses] == [
        ("added", key(new_license), day2, day2)
    ]

    penalties = read_csv(directory / "penalties-delta.csv")
    assert {r["key"]: r["change"] for r in penalties} == {
        key(records["corrected"]): "changed",
        key(records["ends"]): "removed",  # its 公示截止期 has passed
        key(records["restored"]): "removed",  # 信用修复
    }
    rows = by_key(penalties)
    changed = rows[key(records["corrected"])]
    assert (changed["first_seen"], changed["last_changed"]) == (day1, day2)
    assert (changed["CF_NR"], changed["CF_NR_FK"]) == ("罚款人民币陆万元", "6")
    ended = rows[key(records["ends"])]
    assert (ended["first_seen"], ended["last_changed"]) == (day1, day1)
    # Named by key and dates only: what left publicity is not published again.
    assert ended["CF_XDR_MC"] == "" and ended["CF_WSH"] == ""
    assert as_csv_text(read_json(directory / "penalties-delta.json")) == penalties

    list_delta = read_csv(directory / "lists-delta.csv")
    assert [(r["change"], r["key"]) for r in list_delta] == [
        ("removed", entries["removed"].entry_no)
    ]
    assert list_delta[0]["decision_no"] == ""

    # The full files of DAY2 keep first-seen dates and drop what was removed.
    snapshot = by_key(read_csv(directory / "penalties.csv"))
    assert key(records["ends"]) not in snapshot and key(records["restored"]) not in snapshot
    assert snapshot[key(records["corrected"])]["first_seen"] == day1
    assert snapshot[key(records["corrected"])]["last_changed"] == day2
    licenses_now = by_key(read_csv(directory / "licenses.csv"))
    assert licenses_now[key(records["license"])]["last_changed"] == day1
    assert [r["key"] for r in read_csv(directory / "lists.csv")] == [entries["kept"].entry_no]

    counts = {d.name: (d.rows, d.added, d.changed, d.removed) for d in result.datasets}
    assert counts["licenses"] == (2, 1, 0, 0)
    assert counts["penalties"][1:] == (0, 1, 2)
    assert counts["lists"] == (1, 0, 0, 1)
    assert Publication.objects.get(date=DAY2).previous == DAY1
    removed = PublishedItem.objects.get(key=entries["removed"].entry_no)
    assert removed.removed_on == DAY2 and removed.first_seen == DAY1


def test_an_item_published_again_is_added_with_its_first_seen_date(reference, opendata_dir):
    ends = collect("CF", penalty_row(31, 公示截止期=DAY1.isoformat()))
    publish(DAY1)
    publish(DAY2)
    assert PublishedItem.objects.get(key=key(ends)).removed_on == DAY2
    day3 = DAY2 + timedelta(days=1)
    collect(
        "CF", penalty_row(31, 公示截止期=(DAY1 + timedelta(days=90)).isoformat()), today=day3
    )  # corrected: the publicity period was longer
    publish(day3)
    delta = read_csv(opendata_dir / day3.isoformat() / "penalties-delta.csv")
    assert [(r["change"], r["first_seen"], r["last_changed"]) for r in delta] == [
        ("added", DAY1.isoformat(), day3.isoformat())
    ]
    assert PublishedItem.objects.get(key=key(ends)).removed_on is None


def test_running_a_date_again_gives_identical_files_and_state(day_one, opendata_dir):
    collect("XK", license_row(4), today=DAY2)
    publish(DAY2)
    directory = opendata_dir / DAY2.isoformat()
    files, items = files_of(directory), state()

    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        publish(DAY2)
    assert files_of(directory) == files  # manifest.json included, byte for byte
    assert state() == items
    assert Publication.objects.count() == 2
    assert PublishedItem.objects.filter(dataset="licenses").count() == 2


def test_files_put_together_a_row_at_a_time_are_the_same_files(day_one, opendata_dir, monkeypatch):
    directory = opendata_dir / DAY1.isoformat()
    whole = files_of(directory)
    monkeypatch.setattr(runs, "MERGE_ROWS", 1)  # every row merged and written on its own
    monkeypatch.setattr(runs, "MIN_BATCH", 1)
    publish(DAY1)
    assert files_of(directory) == whole
    assert (
        whole["penalties.csv"].startswith("\ufeff".encode())
        and whole["penalties.csv"].count("\ufeff".encode()) == 1
    )


def test_running_a_date_again_starts_from_the_previous_day(day_one, opendata_dir):
    records, _entries = day_one
    first = collect("XK", license_row(4), today=DAY2)
    collect("CF", penalty_row(22, 处罚内容="罚款人民币陆万元"), today=DAY2)
    publish(DAY2)
    # Later that day: one more license, and the correction is taken back.
    second = collect("XK", license_row(5), today=DAY2)
    collect("CF", penalty_row(22), today=DAY2)

    publish(DAY2)
    directory = opendata_dir / DAY2.isoformat()
    assert {r["key"]: r["change"] for r in read_csv(directory / "licenses-delta.csv")} == {
        key(first): "added",
        key(second): "added",
    }
    penalties = {r["key"]: r["change"] for r in read_csv(directory / "penalties-delta.csv")}
    assert key(records["corrected"]) not in penalties  # the same as on DAY1 again
    corrected = PublishedItem.objects.get(key=key(records["corrected"]))
    assert corrected.last_changed == DAY1
    assert PublishedItem.objects.get(key=key(first)).first_seen == DAY2


def test_an_earlier_or_future_date_is_refused(day_one):
    publish(DAY2)
    with pytest.raises(DomainError) as passed:
        publish(DAY1)
    assert passed.value.code == "opendata_date_passed"
    with pytest.raises(DomainError) as future:
        publish(timezone.localdate() + timedelta(days=1))
    assert future.value.code == "opendata_future"


def test_a_run_that_fails_leaves_the_previous_state_and_files(day_one, opendata_dir, monkeypatch):
    day1_files, items = files_of(opendata_dir / DAY1.isoformat()), state()
    collect("XK", license_row(4), today=DAY2)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "insert_frame", broken)
    with pytest.raises(RuntimeError):
        publish(DAY2)
    assert state() == items
    assert not (opendata_dir / DAY2.isoformat()).exists()
    assert [p.name for p in opendata_dir.iterdir() if p.name.startswith(".tmp")] == []
    assert files_of(opendata_dir / DAY1.isoformat()) == day1_files
    failed = Publication.objects.get(date=DAY2)
    assert failed.status == PublicationStatus.FAILED and "disk full" in failed.error
    assert latest_publication().date == DAY1

    monkeypatch.undo()
    result = publish(DAY2)
    assert result.publication.status == PublicationStatus.DONE
    assert [d.added for d in result.datasets if d.name == "licenses"] == [1]


def test_a_rerun_failing_after_the_files_moved_puts_the_old_files_back(
    day_one, opendata_dir, monkeypatch
):
    directory = opendata_dir / DAY1.isoformat()
    files, items = files_of(directory), state()
    collect("XK", license_row(4))  # would change DAY1's files

    def broken(*args, **kwargs):
        raise RuntimeError("commit failed")

    monkeypatch.setattr(services.transaction, "on_commit", broken)
    with pytest.raises(RuntimeError):
        publish(DAY1)
    assert files_of(directory) == files
    assert state() == items
    assert Publication.objects.get(date=DAY1).status == PublicationStatus.DONE


def test_only_the_latest_publications_keep_their_full_files(reference, opendata_dir, settings):
    settings.CREDITPLUS_OPENDATA_KEEP_FULL = 2
    collect("XK", license_row(1))
    day3 = DAY2 + timedelta(days=1)
    for day in (DAY1, DAY2, day3):
        publish(day)
    oldest = opendata_dir / DAY1.isoformat()
    assert {p.name for p in oldest.iterdir()} == {n for n in FILES if "delta" in n} | {
        "manifest.json"
    }
    assert {f["kind"] for f in Publication.objects.get(date=DAY1).files} == {"delta"}
    assert {p.name for p in (opendata_dir / DAY2.isoformat()).iterdir()} == FILES
    assert len(Publication.objects.get(date=day3).files) == len(FILES) - 1


def test_csv_cells_never_start_a_spreadsheet_formula(reference, opendata_dir):
    record = collect("CF", penalty_row(41, 违法事实='=HYPERLINK("http://example.com","点击")'))
    publish(DAY1)
    directory = opendata_dir / DAY1.isoformat()
    row = by_key(read_csv(directory / "penalties.csv"))[key(record)]
    assert row["CF_SY"] == '\'=HYPERLINK("http://example.com","点击")'
    # JSON is data, not a spreadsheet: the text stays as the department wrote it.
    item = next(i for i in read_json(directory / "penalties.json") if i["key"] == key(record))
    assert item["CF_SY"] == '=HYPERLINK("http://example.com","点击")'


def test_a_daily_run_reads_only_the_records_that_changed(reference, opendata_dir, monkeypatch):
    kept = [collect("XK", license_row(n)) for n in range(1, 6)]
    ends = collect("CF", penalty_row(51, 公示截止期=DAY1.isoformat()))
    publish(DAY1)
    new = collect("XK", license_row(6), today=DAY2)
    read: list[int] = []
    by_id = services.records_by_id

    def spy(item, ids):
        read.extend(ids.to_list())
        return by_id(item, ids)

    def everything(*args, **kwargs):
        raise AssertionError("a daily run must not read every record")

    monkeypatch.setattr(services, "records_by_id", spy)
    monkeypatch.setattr(datasets, "record_chunks", everything)
    publish(DAY2)
    assert read == [new.pk]  # not the five unchanged licenses; the ended penalty by its id
    directory = opendata_dir / DAY2.isoformat()
    daily = files_of(directory)
    assert [r["key"] for r in read_csv(directory / "penalties-delta.csv")] == [key(ends)]
    assert {r["key"] for r in read_csv(directory / "licenses.csv")} == {
        key(r) for r in [*kept, new]
    }

    # Without the previous publication's rows the run reads everything: the same files.
    monkeypatch.undo()
    shutil.rmtree(opendata_dir / ".rows")
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        publish(DAY2)
    assert files_of(directory) == daily


def test_kept_rows_that_are_not_the_previous_files_are_not_used(
    reference, opendata_dir, monkeypatch
):
    """Rows kept by a run that did not commit (or of another version) do not match the
    previous publication's full file: the next run reads everything instead."""
    collect("XK", license_row(1))
    publish(DAY1)
    meta = opendata_dir / ".rows" / DAY1.isoformat() / "licenses" / "meta.json"
    stale = json.loads(meta.read_text(encoding="utf-8")) | {"sha256": "0" * 64}
    meta.write_text(json.dumps(stale), encoding="utf-8")
    new = collect("XK", license_row(2), today=DAY2)
    reads = []
    chunks = datasets.record_chunks

    def counted(item, today, progress=None):
        reads.append(item)
        return chunks(item, today, progress)

    monkeypatch.setattr(datasets, "record_chunks", counted)
    publish(DAY2)
    assert reads == ["XK"]  # the penalties' kept rows still match their file
    delta = read_csv(opendata_dir / DAY2.isoformat() / "licenses-delta.csv")
    assert [(r["change"], r["key"]) for r in delta] == [("added", key(new))]


def test_kept_rows_say_where_each_rows_bytes_are_in_the_full_files(reference, opendata_dir):
    """What a daily run copies instead of formatting again: each kept row's CSV line and
    JSON object, at the place the kept rows give, in the files of the publication."""
    for n in range(1, 4):
        collect("XK", license_row(n))
    publish(DAY1)
    collect("XK", license_row(4), today=DAY2)
    publish(DAY2)  # copies DAY1's three rows and writes the new one
    kept = pl.read_parquet(opendata_dir / ".rows" / DAY2.isoformat() / "licenses" / "full.parquet")
    csv_bytes = (opendata_dir / DAY2.isoformat() / "licenses.csv").read_bytes()
    json_bytes = (opendata_dir / DAY2.isoformat() / "licenses.json").read_bytes()
    objects = json.loads(json_bytes)
    assert kept.height == len(objects) == 4
    for n, row in enumerate(kept.iter_rows(named=True)):
        line = csv_bytes[row["csv_at"] : row["csv_at"] + row["csv_len"]].decode()
        assert line.endswith("\n") and line.startswith(row["key"] + ",")
        text = json_bytes[row["json_at"] : row["json_at"] + row["json_len"]]
        assert json.loads(text) == objects[n] and objects[n]["key"] == row["key"]


def test_a_previous_full_file_pruned_makes_the_next_run_read_everything(
    reference, opendata_dir, monkeypatch
):
    first = collect("XK", license_row(1))
    publish(DAY1)
    (opendata_dir / DAY1.isoformat() / "licenses.json").unlink()
    new = collect("XK", license_row(2), today=DAY2)
    reads = []
    chunks = datasets.record_chunks
    monkeypatch.setattr(
        datasets, "record_chunks", lambda item, *a, **k: reads.append(item) or chunks(item, *a, **k)
    )
    publish(DAY2)
    assert reads == ["XK"]  # the licenses read whole; the penalties' files are still there
    rows = read_csv(opendata_dir / DAY2.isoformat() / "licenses.csv")
    assert sorted(r["key"] for r in rows) == sorted([key(first), key(new)])


def test_a_run_killed_after_its_commit_leaves_a_next_run_that_reads_everything(
    reference, opendata_dir, monkeypatch
):
    collect("XK", license_row(1))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for the process dying right after the commit

    monkeypatch.setattr(services, "_keep_rows", killed)
    with pytest.raises(KeyboardInterrupt):
        publish(DAY1)
    assert latest_publication().date == DAY1  # committed, files in place
    monkeypatch.undo()
    new = collect("XK", license_row(2), today=DAY2)
    publish(DAY2)
    delta = read_csv(opendata_dir / DAY2.isoformat() / "licenses-delta.csv")
    assert [(r["change"], r["key"]) for r in delta] == [("added", key(new))]
    assert (opendata_dir / ".rows" / DAY2.isoformat() / "licenses" / "full.parquet").is_file()
    assert not (opendata_dir / ".rows" / DAY1.isoformat()).exists()  # nothing half-kept
    assert not list(opendata_dir.glob(".work-*"))


def test_a_records_migration_since_the_kept_rows_makes_the_next_run_read_everything(
    reference, opendata_dir, monkeypatch
):
    collect("XK", license_row(1))
    publish(DAY1)
    MigrationRecorder.Migration.objects.create(app="records", name="9999_rewrite_records")
    reads = []
    chunks = datasets.record_chunks

    def counted(item, today, progress=None):
        reads.append(item)
        return chunks(item, today, progress)

    monkeypatch.setattr(datasets, "record_chunks", counted)
    publish(DAY2)
    assert reads == ["XK", "CF"]
