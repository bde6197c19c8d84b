"""The bad-file corpus (issue 16): files an outside probe sent, rebuilt on demand because the
largest are megabytes of nothing. Each entry names the code it must get; `write(directory)`
writes them all. Run as a script to write them into a directory: ``python -m
tests.data.bad.corpus DIR``."""

from __future__ import annotations

import random
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.records.files import PERSON_ID, csv_bytes, penalty, xlsx_bytes


@dataclass(frozen=True)
class Bad:
    name: str
    build: Callable[[Path], None]
    code: str  # the batch's error code, or the code every row gets
    whole_file: bool = True  # refused as a whole (else each row is rejected with ``code``)


def _text(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _zip_bomb(path: Path) -> None:
    """A real XLSX whose sheet unpacks to 1 GiB of rows from about a megabyte: the probe's
    attack (3.66 MB → 1.0 GB, 1.49 M rows). Streamed, so building it takes no memory."""
    good = zipfile.ZipFile(__import__("io").BytesIO(xlsx_bytes([penalty(1)])))
    cells = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in penalty(1).values())
    row = f"<row>{cells}</row>".encode()
    block = row * (1024 * 1024 // len(row) + 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for info in good.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info.filename, good.read(info.filename))
        with bomb.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            for _ in range(1024):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")


def _header() -> str:
    return ",".join(penalty(1))


def _rows(**overrides: str) -> bytes:
    return csv_bytes([penalty(n, **overrides) for n in range(1, 4)])


def _binary(path: Path) -> None:
    path.write_bytes(random.Random(16).randbytes(64 * 1024))


CORPUS = [
    Bad("zip_bomb.xlsx", _zip_bomb, "file_too_large"),
    Bad("deep.json", _text(b"[" * 100_000 + b"]" * 100_000), "json_too_deep"),
    Bad("header_only.csv", _text(_header().encode() + b"\r\n"), "file_no_rows"),
    Bad("nul_bytes.csv", _text(_rows(**{"违法事实": "虚假\x00宣传"})), "value_nul", False),
    Bad(
        "duplicated_header.csv",
        _text(f"{_header()},违法事实\n".encode() + _rows().split(b"\n", 1)[1]),
        "column_duplicated",
    ),
    Bad(
        "columns_10000.csv",
        _text((",".join(f"列{i}" for i in range(10_000)) + "\n" + "x," * 9_999 + "x\n").encode()),
        "columns_too_many",
    ),
    Bad("field_1mb.csv", _text(_rows(**{"违法事实": "违" * 1_000_000})), "value_too_large", False),
    Bad("utf16.csv", _text(_rows().decode().encode("utf-16")), "file_encoding"),
    Bad("utf16le_no_bom.csv", _text(_rows().decode().encode("utf-16-le")), "file_encoding"),
    Bad("utf32.csv", _text(_rows().decode().encode("utf-32")), "file_encoding"),
    Bad("binary.csv", _binary, "file_not_tabular"),
    Bad(
        "ragged_with_id.csv",
        _text(_rows() + f"{PERSON_ID},多出的列,,,,,,,,,,,,,,,,,,,,,,,,\n".encode()),
        "file_unreadable",
    ),
]


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for bad in CORPUS:
        path = directory / bad.name
        if not path.exists():
            bad.build(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(Path(sys.argv[1])):
        print(written, written.stat().st_size)
