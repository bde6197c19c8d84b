"""The ingest service: formats, every row error code, reconciled counts, versions."""

from __future__ import annotations

import io

import pytest

from creditplus.accounts.models import AuditEvent, Department
from creditplus.catalog.models import CatalogItem
from creditplus.errors import DomainError
from creditplus.records.ingest import IngestOptions, ingest_file, ingest_rows
from creditplus.records.models import CreditEvent, CreditRecord, IngestBatch
from creditplus.subjects.models import Subject
from tests.records.files import PERSON_ID, csv_bytes, json_bytes, penalty, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def options(reference):
    def make(item: str = "CF", dept: str = "SCJG", **kwargs):
        return IngestOptions(
            item=CatalogItem.objects.get(code=item),
            department=Department.objects.get(code=dept),
            **kwargs,
        )

    return make


def reconciles(batch: IngestBatch) -> bool:
    return batch.submitted == batch.accepted + batch.updated + batch.unchanged + batch.rejected


def codes(batch: IngestBatch) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {}
    for err in batch.errors.all():
        result.setdefault(err.row_no, set()).add(err.code)
    return result


@pytest.mark.parametrize(
    "fmt,content",
    [
        ("utf-8 csv", lambda rows: csv_bytes(rows)),
        ("utf-8 csv with BOM", lambda rows: b"\xef\xbb\xbf" + csv_bytes(rows)),
        ("gbk csv", lambda rows: csv_bytes(rows, "gbk")),
        ("gb18030 csv", lambda rows: csv_bytes(rows, "gb18030")),
        ("xlsx with Chinese headers", xlsx_bytes),
        ("json", json_bytes),
    ],
)
def test_every_format_is_read_and_counts_reconcile(options, fmt, content):
    rows = [penalty(1), penalty(2), penalty(3, **{"统一社会信用代码": "91310115MA1K3BTP2C"})]
    name = "upload.xlsx" if "xlsx" in fmt else ("upload.json" if fmt == "json" else "upload.csv")
    batch = ingest_file(content(rows), options(file_name=name))
    assert (batch.submitted, batch.accepted, batch.rejected) == (3, 2, 1), batch.error_message
    assert reconciles(batch)
    assert codes(batch) == {3: {"uscc_check"}}
    record = CreditRecord.objects.get(batch=batch, row_no=1)
    assert record.subject.name == "上海测试1号科技有限公司"
    assert record.values["CF_XDR_MC"] == "上海测试1号科技有限公司"


def test_gbk_file_is_detected(options):
    batch = ingest_file(csv_bytes([penalty(1)], "gbk"), options(file_name="gbk.csv"))
    assert batch.encoding == "gb18030" and batch.accepted == 1


def _cut_inside_a_character(content: bytes) -> bytes:
    """Cut inside the last row's last "号" (three bytes in UTF-8)."""
    return content[: content.rindex("号".encode()) + 1]


@pytest.mark.parametrize(
    ("content", "encoding", "accepted"),
    [
        (lambda rows: csv_bytes(rows), "utf-8", 2),
        (lambda rows: b"\xef\xbb\xbf" + csv_bytes(rows), "utf-8-sig", 2),
        (lambda rows: csv_bytes(rows, "gb18030"), "gb18030", 2),
        (lambda rows: _cut_inside_a_character(csv_bytes(rows)), "utf-8", 1),
    ],
    ids=["utf-8", "bom", "gb18030", "cut-inside-a-character"],
)
def test_a_csv_is_parsed_from_its_bytes_or_after_decoding_them(
    options, content, encoding, accepted
):
    """UTF-8 goes to the parser as it is; GB18030 and a UTF-8 file cut inside a character
    are decoded first (the cut row is rejected, not the file misread as GB18030)."""
    batch = ingest_file(content([penalty(1), penalty(2)]), options(file_name="enc.csv"))
    assert batch.encoding == encoding and batch.submitted == 2
    assert (batch.accepted, batch.rejected) == (accepted, 2 - accepted) and reconciles(batch)
    record = CreditRecord.objects.get(batch=batch, row_no=1)
    assert record.values["CF_XDR_MC"] == "上海测试1号科技有限公司"


def test_a_csv_with_a_utf8_mark_but_other_bytes_is_refused_with_a_reason(options):
    content = b"\xef\xbb\xbf" + csv_bytes([penalty(1)], "gb18030")
    batch = ingest_file(content, options(file_name="mark.csv"))
    assert batch.status == "failed" and batch.error_code == "file_encoding"
    assert "UTF-8" in batch.error_message and reconciles(batch)


def test_field_codes_are_accepted_as_headers(options, reference):
    spec = CatalogItem.objects.get(code="CF").spec
    by_label = {f.label: f.code for f in spec.fields}
    row = {by_label[k]: v for k, v in penalty(1).items()}
    batch = ingest_file(csv_bytes([row]), options(file_name="codes.csv"))
    assert batch.accepted == 1


ROW_ERRORS = [
    ("required", {"违法事实": ""}),
    ("too_long", {"行政处罚决定书文号": "文" * 101}),
    ("code_unknown", {"处罚类别": "罚没"}),
    ("code_unknown", {"行政相对人类别": "外星人"}),
    ("date_invalid", {"处罚决定日期": "2025-02-30"}),
    ("date_future", {"处罚决定日期": "2999-01-01", "处罚有效期": "2999-02-01"}),
    ("date_order", {"处罚有效期": "2024-01-01"}),
    ("number_invalid", {"罚款金额(万元)": "五万"}),
    ("amount_negative", {"罚款金额(万元)": "-5"}),
    ("number_scale", {"罚款金额(万元)": "1.1234567"}),
    ("uscc_check", {"统一社会信用代码": "91310115MA1K3BTP2C"}),
    ("uscc_length", {"统一社会信用代码": "9131011"}),
    ("required", {"处罚类别": "罚款", "罚款金额(万元)": ""}),  # conditional: 罚款 needs the amount
    ("required", {"行政相对人类别": "法人及非法人组织", "统一社会信用代码": ""}),
    (
        "ric_check",
        {
            "行政相对人类别": "自然人",
            "统一社会信用代码": "",
            "证件类型": "身份证",
            "证件号码": "36042619910102009X",
        },
    ),
    (
        "ric_date",
        {
            "行政相对人类别": "自然人",
            "统一社会信用代码": "",
            "证件类型": "身份证",
            "证件号码": "360426199113010079",
        },
    ),
]


@pytest.mark.parametrize(
    "code,overrides", ROW_ERRORS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ROW_ERRORS)]
)
def test_each_row_error_code_rejects_the_row_with_a_chinese_message(options, code, overrides):
    good = penalty(1)
    bad = penalty(2, **overrides)
    keys = list(dict.fromkeys([*good, *bad]))
    rows = [{k: r.get(k, "") for k in keys} for r in (good, bad)]
    batch = ingest_file(csv_bytes(rows), options(file_name="bad.csv"))
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert reconciles(batch)
    error = batch.errors.get(code=code)
    assert (
        error.row_no == 2
        and error.message
        and any("\u4e00" <= ch <= "\u9fff" for ch in error.message)
    )
    assert error.raw and "上海测试2号科技有限公司" in error.raw


def test_an_empty_file_is_refused_as_a_whole(options):
    batch = ingest_file(b"", options(file_name="empty.csv"))
    assert batch.status == "failed" and batch.error_code == "file_empty"
    assert batch.submitted == 0 and reconciles(batch)


def test_a_truncated_csv_rejects_the_cut_row_and_keeps_the_rest(options):
    content = csv_bytes([penalty(1), penalty(2)])
    truncated = content[: content.rindex(b"\n", 0, len(content) - 1) + 40]  # cut inside row 2
    batch = ingest_file(truncated, options(file_name="cut.csv"))
    assert (batch.submitted, batch.accepted, batch.rejected) == (2, 1, 1)
    assert "required" in codes(batch)[2]


@pytest.mark.parametrize(
    "name,content",
    [
        ("cut.xlsx", lambda: xlsx_bytes([penalty(1)])[:300]),
        ("cut.json", lambda: json_bytes([penalty(1), penalty(2)])[:-20]),
    ],
)
def test_a_truncated_xlsx_or_json_is_refused_with_a_reason(options, name, content):
    batch = ingest_file(content(), options(file_name=name))
    assert batch.status == "failed" and batch.error_code == "file_unreadable"
    assert "截断" in batch.error_message and reconciles(batch)


def test_a_file_without_a_required_column_is_refused(options):
    rows = [{k: v for k, v in penalty(1).items() if k != "违法事实"}]
    batch = ingest_file(csv_bytes(rows), options(file_name="cols.csv"))
    assert batch.error_code == "columns_missing" and "违法事实" in batch.error_message


def test_duplicate_keys_within_a_batch_keep_the_first(options):
    batch = ingest_file(csv_bytes([penalty(1), penalty(1)]), options(file_name="dup.csv"))
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert batch.errors.get().code == "duplicate_in_batch"


def test_messages_of_chunks_validated_ahead_are_in_the_callers_language(options, monkeypatch):
    """Chunks are validated in a helper thread; Django's active language is per thread, so
    the helper takes the caller's."""
    from django.utils import translation

    from creditplus.records import ingest

    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)
    rows = [penalty(1), penalty(2), penalty(1)]  # the repeat is in the second chunk
    with translation.override("en"):
        batch = ingest_file(csv_bytes(rows), options(file_name="dup-en.csv"))
    assert batch.errors.get().message == "Same business key as row 1 of this batch"


def test_resubmitting_the_same_file_changes_nothing(options):
    content = csv_bytes([penalty(1), penalty(2)])
    first = ingest_file(content, options(file_name="a.csv"))
    records = list(CreditRecord.objects.order_by("id").values_list("id", "version", "is_current"))
    second = ingest_file(content, options(file_name="a.csv"))
    assert (second.accepted, second.updated, second.unchanged) == (0, 0, 2)
    assert (
        list(CreditRecord.objects.order_by("id").values_list("id", "version", "is_current"))
        == records
    )
    assert first.pk != second.pk


def test_a_resubmitted_batch_id_returns_the_first_batch(options):
    first = ingest_file(
        csv_bytes([penalty(1)]), options(file_name="a.csv", external_id="SCJG-2025-001")
    )
    again = ingest_file(
        csv_bytes([penalty(1), penalty(2)]), options(file_name="a.csv", external_id="SCJG-2025-001")
    )
    assert (
        again.pk == first.pk
        and IngestBatch.objects.count() == 1
        and CreditRecord.objects.count() == 1
    )


def test_a_changed_row_becomes_a_new_version_and_keeps_the_old(options):
    ingest_file(csv_bytes([penalty(1)]), options(file_name="v1.csv"))
    batch = ingest_file(
        csv_bytes([penalty(1, **{"罚款金额(万元)": "8"})]), options(file_name="v2.csv")
    )
    assert (batch.accepted, batch.updated) == (0, 1)
    versions = list(
        CreditRecord.objects.order_by("version").values_list("version", "is_current", "amount")
    )
    assert [(v, c, float(a)) for v, c, a in versions] == [(1, False, 5.0), (2, True, 8.0)]


def test_behavior_events_follow_the_behavior_list(options):
    ingest_file(
        csv_bytes(
            [
                penalty(
                    1,
                    **{
                        "处罚类别": "吊销许可证件",
                        "罚款金额(万元)": "",
                        "暂扣或吊销证照名称及编号": "食品经营许可证 JY1",
                    },
                )
            ]
        ),
        options(file_name="e.csv"),
    )
    event = CreditEvent.objects.get()
    assert (event.kind, event.severity) == ("untrustworthy", "serious")
    assert event.publish_until > event.publish_min_until > event.occurred_on


def test_natural_persons_are_stored_encrypted_and_found_by_keyed_hash(options):
    row = penalty(
        1,
        **{
            "行政相对人名称": "王五",
            "行政相对人类别": "自然人",
            "统一社会信用代码": "",
            "证件类型": "身份证",
            "证件号码": PERSON_ID,
        },
    )
    ingest_file(csv_bytes([row]), options(file_name="p.csv"))
    person = Subject.objects.get(kind="person")
    assert PERSON_ID not in person.id_cipher and person.id_masked == "3604**********0071"
    assert Subject.objects.by_code(PERSON_ID).get() == person
    record = CreditRecord.objects.get()
    assert PERSON_ID not in record.data
    assert not CreditEvent.objects.get().published  # personal penalties are not published


def test_a_name_that_disagrees_with_the_registered_name_is_flagged_not_renamed(options):
    ingest_file(csv_bytes([penalty(1)]), options(file_name="a.csv"))
    ingest_file(
        csv_bytes(
            [
                penalty(
                    5,
                    **{
                        "统一社会信用代码": penalty(1)["统一社会信用代码"],
                        "行政相对人名称": "别的名字有限公司",
                    },
                )
            ]
        ),
        options(file_name="b.csv"),
    )
    subject = Subject.objects.get(uscc=penalty(1)["统一社会信用代码"])
    assert subject.name == "上海测试1号科技有限公司"
    assert (
        "name_mismatch"
        in CreditRecord.objects.get(natural_key__startswith="沪浦市监处〔2025〕5号").flags
    )


def test_ingest_into_an_item_the_department_does_not_provide_is_refused(options, reference):
    item = CatalogItem.objects.get(code="CF")
    item.all_departments = False
    item.save()
    with pytest.raises(DomainError) as excinfo:
        ingest_file(csv_bytes([penalty(1)]), options(file_name="x.csv"))
    assert excinfo.value.code == "item_not_provided"


def test_each_batch_writes_one_audit_event(options):
    before = AuditEvent.objects.filter(action="ingest.batch").count()
    batch = ingest_rows([penalty(1), penalty(2)], options())
    event = AuditEvent.objects.filter(action="ingest.batch").latest("id")
    assert AuditEvent.objects.filter(action="ingest.batch").count() == before + 1
    assert event.object_id == str(batch.pk) and event.after["accepted"] == 2


def test_rejected_rows_keep_personal_numbers_sealed_and_give_them_back_on_download(options):
    from creditplus.records.services import rejected_rows_csv

    row = penalty(
        1,
        **{
            "行政相对人名称": "王五",
            "行政相对人类别": "自然人",
            "统一社会信用代码": "",
            "证件类型": "身份证",
            "证件号码": PERSON_ID,
            "处罚类别": "罚没",
        },
    )
    batch = ingest_file(csv_bytes([row]), options(file_name="p.csv"))
    error = batch.errors.get()
    assert PERSON_ID not in error.raw
    assert PERSON_ID in rejected_rows_csv(batch).decode("utf-8-sig")
    assert AuditEvent.objects.filter(action="batch.rejected_rows", object_id=str(batch.pk)).exists()


def test_json_keys_with_surrounding_spaces_are_read_like_headers(options):
    row = {f" {k} ": v for k, v in penalty(1).items()}
    batch = ingest_rows([row], options())
    assert batch.accepted == 1


def _outcome(batch: IngestBatch) -> dict:
    """What a batch did, in terms that do not depend on database ids."""
    return {
        "counts": {k: v for k, v in batch.counts().items() if k != "batch"},
        "stats": batch.stats,
        "errors": sorted(batch.errors.values_list("row_no", "field", "code", "message", "raw")),
        "records": sorted(
            CreditRecord.objects.filter(batch=batch).values_list(
                "row_no", "natural_key", "subject__name", "subject_name", "flags", "data"
            )
        ),
        "events": sorted(
            CreditEvent.objects.filter(record__batch=batch).values_list(
                "record__row_no", "kind", "severity", "published", "publish_until"
            )
        ),
    }


def test_a_file_written_in_chunks_gives_what_it_gives_whole(options, monkeypatch):
    """Big files go through in chunks of rows inside the batch's transaction. Rows that
    repeat a key of an earlier chunk, rejected rows, personal rows and subjects met again in
    a later chunk come out exactly as when the file is written in one piece."""
    from django.db import transaction

    from creditplus.records import ingest

    person = {
        "行政相对人名称": "王五",
        "行政相对人类别": "自然人",
        "统一社会信用代码": "",
        "证件类型": "身份证",
        "证件号码": PERSON_ID,
    }
    rows = [penalty(n) for n in range(1, 13)]
    rows[2] = penalty(1)  # repeats row 1 in the same chunk
    rows[9] = penalty(2, **{"罚款金额(万元)": "9"})  # repeats row 2, three chunks later
    rows[4] = penalty(5, **{"统一社会信用代码": "91310115MA1K3BTP2C"})  # rejected
    rows[6] = penalty(7, **person)
    rows[10] = penalty(11, **{**person, "处罚类别": "罚没"})  # rejected, personal number sealed
    rows[11] = penalty(12, **{"行政相对人名称": "别的名字有限公司"})  # name differs from row 4's
    content = csv_bytes([{"证件类型": "", "证件号码": "", **row} for row in rows])

    outcomes = []
    for chunk_rows in (1000, 3):
        monkeypatch.setattr(ingest, "CHUNK_ROWS", chunk_rows)
        steps: list[tuple[str, int, int]] = []
        with transaction.atomic():
            batch = ingest_file(
                content,
                options(
                    file_name="chunks.csv",
                    run_consumers=False,
                    progress=lambda *a, steps=steps: steps.append(a),
                ),
            )
            outcomes.append(_outcome(batch))
            transaction.set_rollback(True)
        # Progress is reported over the whole file, not per chunk.
        assert steps[-1][1:] == (12, 12) and all(total == 12 for _s, _d, total in steps)
    whole, chunked = outcomes
    assert whole["counts"] == {
        "submitted": 12, "accepted": 8, "updated": 0, "unchanged": 0, "rejected": 4,
    }  # fmt: skip
    assert [(e[0], e[2]) for e in whole["errors"]] == [
        (3, "duplicate_in_batch"),
        (5, "uscc_check"),
        (10, "duplicate_in_batch"),
        (11, "code_unknown"),
    ], whole["errors"]
    assert chunked == whole


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    "name,content,kind",
    [
        ("处罚.csv", PNG, "PNG 图片"),
        ("scan.png", PNG, "PNG 图片"),
        ("处罚.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF 文档"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "旧版 Office 文件"),
        ("data.csv", b"\x1f\x8b\x08\x00" + b"\x00" * 32, "gzip 压缩包"),
        ("data.csv", b"abc\x00\x01\x02\x03" * 10, "二进制文件"),
    ],
)
def test_a_file_that_is_not_a_table_is_recognised(options, name, content, kind):
    batch = ingest_file(content, options(file_name=name))
    assert batch.status == "failed" and batch.error_code == "file_not_tabular"
    assert (
        batch.error_message.startswith("这不是 CSV/XLSX/JSON 文件") and kind in batch.error_message
    )
    assert reconciles(batch)


def test_a_word_document_is_not_taken_for_a_spreadsheet(options):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    batch = ingest_file(buffer.getvalue(), options(file_name="说明.docx"))
    assert batch.error_code == "file_not_tabular" and "Word 文档" in batch.error_message
    # A real spreadsheet still goes through.
    assert ingest_file(xlsx_bytes([penalty(1)]), options(file_name="ok.xlsx")).accepted == 1
