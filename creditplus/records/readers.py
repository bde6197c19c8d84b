"""Read a submitted file (CSV in UTF-8 / UTF-8 with BOM / GB18030, XLSX, JSON) into a frame
of strings, one column per header as submitted. Nothing is interpreted here: validation
decides what each value means, so that a bad value is reported, never silently coerced."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditplus.errors import DomainError

FORMATS = ("csv", "xlsx", "json")
BOM = b"\xef\xbb\xbf"


@dataclass
class Table:
    frame: pl.DataFrame  # all columns Utf8, headers as submitted (stripped)
    format: str
    encoding: str


def file_error(code: str, message: str) -> DomainError:
    return DomainError(code, message, "file")


def detect_format(name: str, content: bytes) -> str:
    """Format from the file name, else from the content's first bytes."""
    lower = name.lower()
    for ext, fmt in ((".csv", "csv"), (".txt", "csv"), (".xlsx", "xlsx"), (".json", "json")):
        if lower.endswith(ext):
            return fmt
    if content.startswith(b"PK"):
        return "xlsx"
    if content.lstrip(BOM).lstrip()[:1] in (b"[", b"{"):
        return "json"
    return "csv"


# Files that departments attach by mistake, known by their first bytes: (magic, what it is).
NOT_TABULAR = (
    (b"\x89PNG\r\n\x1a\n", gettext_noop("PNG 图片")),
    (b"\xff\xd8\xff", gettext_noop("JPEG 图片")),
    (b"GIF8", gettext_noop("GIF 图片")),
    (b"%PDF", gettext_noop("PDF 文档")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", gettext_noop("旧版 Office 文件（.xls/.doc）")),
    (b"Rar!", gettext_noop("RAR 压缩包")),
    (b"7z\xbc\xaf\x27\x1c", gettext_noop("7z 压缩包")),
    (b"\x1f\x8b", gettext_noop("gzip 压缩包")),
)


def not_tabular(content: bytes) -> str | None:
    """What a file that cannot hold a table is (an image, a PDF, an archive, a Word file, any
    binary), or ``None`` for a file that may be CSV, XLSX or JSON."""
    for magic, kind in NOT_TABULAR:
        if content.startswith(magic):
            return kind
    if content.startswith(b"PK"):
        head = content[:4096]
        if b"word/" in head:
            return gettext_noop("Word 文档")
        if b"ppt/" in head:
            return gettext_noop("PowerPoint 文档")
        return None  # an XLSX (or a damaged one: reported by the XLSX reader)
    if b"\x00" in content[:4096] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return gettext_noop("二进制文件")  # text in UTF-16 has NULs too: left to the decoder
    return None


def decode_text(content: bytes) -> tuple[str, str]:
    """Decode CSV/JSON bytes: BOM → UTF-8; valid UTF-8 → UTF-8; otherwise GB18030 (a superset
    of GBK and GB2312, the encodings Chinese office software writes)."""
    if content.startswith(BOM):
        return content[len(BOM) :].decode("utf-8"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # A file cut off inside a multi-byte character: keep what is complete, so that the
        # cut row is rejected as incomplete instead of the whole file being misread as GBK.
        if exc.reason == "unexpected end of data" and exc.end == len(content):
            return content[: exc.start].decode("utf-8"), "utf-8"
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise file_error(
            "file_encoding", _("无法识别文件编码：请使用 UTF-8 或 GBK/GB18030")
        ) from None


def _strings(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.rename({c: str(c).strip().lstrip("\ufeff") for c in frame.columns})
    return frame.with_columns(pl.all().cast(pl.Utf8))


def read_table(content: bytes, name: str = "", fmt: str | None = None) -> Table:
    """Parse ``content`` into a :class:`Table`; raise :class:`DomainError` for an empty,
    truncated, unreadable or non-tabular file (codes ``file_empty``, ``file_not_tabular``,
    ``file_unreadable``, ``file_encoding``, ``file_no_header``)."""
    if not content or not content.strip(BOM + b" \r\n\t"):
        raise file_error("file_empty", _("文件为空"))
    kind = not_tabular(content)
    if kind is not None:
        raise file_error(
            "file_not_tabular",
            _("这不是 CSV/XLSX/JSON 文件（看起来是 %(kind)s）：请上传按数据清单填写的表格文件")
            % {"kind": _(kind)},
        )
    fmt = fmt or detect_format(name, content)
    if fmt == "xlsx":
        table = _read_xlsx(content)
    elif fmt == "json":
        text, encoding = decode_text(content)
        table = _read_json(text, encoding)
    elif fmt == "csv":
        text, encoding = decode_text(content)
        table = _read_csv(text, encoding)
    else:
        raise file_error("file_format", _("不支持的文件格式：%(fmt)s") % {"fmt": fmt})
    if not table.frame.columns or all(not c for c in table.frame.columns):
        raise file_error("file_no_header", _("文件没有表头行"))
    return table


def _read_csv(text: str, encoding: str) -> Table:
    try:
        frame = pl.read_csv(
            text.encode(),
            infer_schema=False,
            truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except pl.exceptions.NoDataError:
        raise file_error("file_empty", _("文件为空")) from None
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        raise file_error(
            "file_unreadable",
            _("CSV 文件无法解析（可能被截断或列数不一致）：%(detail)s")
            % {"detail": str(exc)[:200]},
        ) from None
    return Table(_strings(frame), "csv", encoding)


def _read_xlsx(content: bytes) -> Table:
    try:
        frame = pl.read_excel(io.BytesIO(content), engine="calamine", infer_schema_length=0)
    except (zipfile.BadZipFile, Exception) as exc:
        if isinstance(exc, DomainError):
            raise
        raise file_error(
            "file_unreadable",
            _("XLSX 文件无法打开（可能已损坏或被截断）：%(detail)s") % {"detail": str(exc)[:200]},
        ) from None
    if frame.height == 0 and not frame.columns:
        raise file_error("file_empty", _("文件为空"))
    return Table(_strings(frame), "xlsx", "")


def _read_json(text: str, encoding: str) -> Table:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(
            "file_unreadable",
            _("JSON 文件无法解析（可能被截断）：第 %(line)s 行 %(msg)s")
            % {"line": exc.lineno, "msg": exc.msg},
        ) from None
    if isinstance(data, dict):
        data = data.get("rows", data.get("data"))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise file_error("file_unreadable", _("JSON 须为对象数组，或含 rows 数组的对象"))
    return Table(rows_to_frame(data), "json", encoding)


def rows_to_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """JSON rows → frame of strings (numbers become their text; nested values are rejected
    later as invalid because they are kept as JSON text)."""
    if not rows:
        raise file_error("file_empty", _("没有数据行"))
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(str(key).strip(), None)

    def text(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v) if isinstance(v, float) else str(v)
        return json.dumps(v, ensure_ascii=False)

    # Keys are compared stripped, as the headers of files are.
    stripped = [{str(k).strip(): v for k, v in r.items()} for r in rows]
    data = {c: [text(r.get(c)) for r in stripped] for c in columns}
    return pl.DataFrame(data, schema={c: pl.Utf8 for c in columns})
