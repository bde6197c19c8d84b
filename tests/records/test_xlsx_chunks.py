"""XLSX sheets are read piece by piece (issue 16): each cell as calamine reads it from the whole
file, and a large sheet ingested in bounded memory with every row stored."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from creditplus.records import xlsx
from creditplus.records.readers import read_table
from tests.records.files import penalty
from tests.records.test_bad_file_corpus import cli_env, run, shell  # noqa: F401 (fixture)


def whole(content: bytes) -> pl.DataFrame:
    """What polars' calamine engine reads from the whole sheet at once (the reader before)."""
    frame = pl.read_excel(
        io.BytesIO(content), engine="calamine", has_header=False, infer_schema_length=0
    )
    return frame.rename({c: str(i) for i, c in enumerate(frame.columns)})


def mixed_workbook() -> bytes:
    """Shared strings, rich text, numbers, dates, blank rows and columns, rows starting at
    column C, and a second sheet that must not be read."""
    book = io.BytesIO()
    workbook = xlsxwriter.Workbook(book)
    sheet = workbook.add_worksheet("处罚")
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 1, ["名称", "金额", "日期", "", "备注"])
    row = 1
    for n in range(300):
        if n % 37 == 0:
            row += 2  # blank rows
        if n % 50 < 10:
            sheet.write_row(row, 3, [f"只有右边{n}"])
        else:
            sheet.write(row, 1, f"上海测试{n}号")
            sheet.write_number(row, 2, n * 1.5 if n % 2 else n)
            sheet.write_datetime(
                row, 3, datetime.datetime(2025, 1, 1) + datetime.timedelta(n), date
            )
            sheet.write_rich_string(row, 5, "部分", bold, "加粗", f"{n}")
        row += 1
    workbook.add_worksheet("其他").write(0, 0, "不读")
    workbook.close()
    return book.getvalue()


def with_prefixed_sheet(content: bytes) -> bytes:
    """The same workbook with the sheet's elements in a prefixed namespace (x:worksheet), as
    the Open XML SDK writes them."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<(/?)([A-Za-z]+)(?=[\s/>])", rb"<\1x:\2", data)
                data = data.replace(b'xmlns="', b'xmlns:x="', 1)
            target.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("prefixed", [False, True], ids=["plain", "prefixed"])
def test_a_sheet_read_in_many_pieces_equals_calamine_reading_it_whole(monkeypatch, prefixed):
    content = mixed_workbook()
    if prefixed:
        content = with_prefixed_sheet(content)
    monkeypatch.setattr(xlsx, "CHUNK_XML_BYTES", 700)  # a few rows per piece
    monkeypatch.setattr(xlsx, "PARTS_RATIO", 0)
    pieces = []
    monkeypatch.setattr(
        xlsx, "_piece_frame", lambda *a, f=xlsx._piece_frame: pieces.append(1) or f(*a)
    )
    chunked = xlsx.read_sheet(content)
    assert len(pieces) > 20
    expected = whole(content)
    assert chunked.height == expected.height > 250
    assert chunked.equals(expected)
    assert "2025-01-11 00:00:00" in chunked.get_column("2").to_list()  # a date, not a serial


def test_a_workbook_laid_out_otherwise_is_read_whole_as_before(monkeypatch):
    def unexpected(archive):
        raise xlsx.SheetError("strict OOXML")

    monkeypatch.setattr(xlsx, "first_sheet_path", unexpected)
    content = mixed_workbook()
    assert xlsx.read_sheet(content).equals(whole(content))


def test_the_table_of_a_chunked_sheet_has_the_header_and_every_row(monkeypatch):
    monkeypatch.setattr(xlsx, "CHUNK_XML_BYTES", 700)
    monkeypatch.setattr(xlsx, "PARTS_RATIO", 0)
    table = read_table(mixed_workbook(), "a.xlsx")
    assert table.frame.columns[:3] == ["名称", "金额", "日期"]
    assert table.frame.height == whole(mixed_workbook()).height - 1


def large_xlsx(path: Path, rows: int) -> None:
    """A real XLSX of ``rows`` valid penalties (inline strings, as xlsxwriter's constant
    memory mode writes them), its sheet streamed so that building it takes no memory."""
    template = io.BytesIO()
    workbook = xlsxwriter.Workbook(template)
    workbook.add_worksheet().write_row(0, 0, list(penalty(1)))
    workbook.close()
    good = zipfile.ZipFile(template)

    def cells(values: list[str], n: int) -> str:
        return (
            f'<row r="{n}">'
            + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values)
            + "</row>"
        )

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in good.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info.filename, good.read(info.filename))
        with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><sheetData>'
            )
            sheet.write(cells(list(penalty(1)), 1).encode())
            for n in range(1, rows + 1):
                row = penalty(n, **{"行政处罚决定书文号": f"沪浦市监处〔2025〕X{n}号"})
                sheet.write(cells([str(v) for v in row.values()], n + 1).encode())
            sheet.write(b"</sheetData></worksheet>")


# A child that only reads a 500,000-row sheet: calamine's whole grid peaked at 1,027 MB, the
# pieces at 607 MB (shared machine, load ~15; the string frame itself is ~160 MB).
MAX_READ_RSS_MB = 800
# A child ingesting 200,000 rows peaks at about 1,070 MB, mostly validating and writing a
# 100,000-row chunk (the same with either reader at this size).
MAX_INGEST_RSS_MB = 1_400


@pytest.mark.slow
def test_reading_a_500000_row_xlsx_takes_memory_for_its_rows_not_its_cell_grid(
    cli_env,  # noqa: F811
    tmp_path,
):
    path = tmp_path / "large.xlsx"
    large_xlsx(path, 500_000)
    out, rss = run(
        cli_env,
        "shell",
        "-c",
        "from pathlib import Path; from creditplus.records.readers import read_table; "
        f"print(read_table(Path({str(path)!r}).read_bytes(), 'large.xlsx').frame.height)",
    )
    assert int(out.split()[-1]) == 500_000
    assert rss < MAX_READ_RSS_MB, f"peak RSS {rss:.0f} MB"


@pytest.mark.slow
def test_a_200000_row_xlsx_is_ingested_in_bounded_memory_with_every_row_stored(
    cli_env,  # noqa: F811
    tmp_path,
):
    path = tmp_path / "large.xlsx"
    large_xlsx(path, 200_000)
    out, rss = run(cli_env, "ingest", str(path), "--item", "CF", "--dept", "SCJG", "--json")
    line = json.loads(out.strip().splitlines()[-1])
    assert (line["status"], line["submitted"], line["accepted"]) == ("done", 200_000, 200_000)
    stored = shell(
        cli_env,
        "import json; from creditplus.records.models import CreditRecord; "
        f"print(json.dumps(CreditRecord.objects.filter(batch_id={line['batch']}).count()))",
    )
    assert stored == 200_000
    assert rss < MAX_INGEST_RSS_MB, f"peak RSS {rss:.0f} MB"
