"""Read a submitted file (CSV in UTF-8 / UTF-8 with BOM / GB18030, XLSX, JSON) into a frame
of strings, one column per header as submitted. Nothing is interpreted here: validation
decides what each value means, so that a bad value is reported, never silently coerced."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.conf import settings
from django.utils.translation import gettext as _

from creditplus.errors import DomainError
from creditplus.records import xlsx

FORMATS = ("csv", "xlsx", "json")
BOM = b"\xef\xbb\xbf"
# Bounds of a submitted file (the widest real feed has about 60 columns).
MAX_COLUMNS = 500
MAX_ZIP_MEMBERS = 1000


@dataclass
class Table:
    frame: pl.DataFrame  # all columns Utf8, headers as submitted (stripped, distinct)
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


def gettext_noop(message: str) -> str:
    """Marks text for translation without needing settings at import (the benchmarks import
    this module bare); the name is what makemessages looks for."""
    return message


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


def _looks_like_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a byte-order mark (Chinese text has few NUL bytes in it)."""
    if head.count(b"\x00") * 4 > len(head):
        return True
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = head[: len(head) // 2 * 2].decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        if text and printable >= 0.98 * len(text) and ("," in text or "\n" in text):
            return True
    return False


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
    head = content[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_like_utf16(head):
        return None  # UTF-16/32 text: the decoder names its encoding
    # Text has almost no control bytes; a stray NUL in a field is a row error (value_nul).
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    if controls * 100 > len(head):
        return gettext_noop("二进制文件")
    return None


def _refuse_wide_text(content: bytes) -> None:
    head = content[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") * 4 > len(head):
        raise file_error(
            "file_encoding", _("文件为 UTF-16/UTF-32 编码：请另存为 UTF-8 或 GBK/GB18030")
        )


def decode_text(content: bytes) -> tuple[str, str]:
    """Decode CSV/JSON bytes: BOM → UTF-8; valid UTF-8 → UTF-8; otherwise GB18030 (a superset
    of GBK and GB2312, the encodings Chinese office software writes). UTF-16/32 (Excel's
    "Unicode text") is refused by name: it would otherwise decode into NUL-laden nonsense."""
    declared = content.startswith(BOM)
    if declared:
        content = content[len(BOM) :]
    else:
        _refuse_wide_text(content)
    encoding = "utf-8-sig" if declared else "utf-8"
    try:
        return content.decode("utf-8"), encoding
    except UnicodeDecodeError as exc:
        # A file cut off inside a multi-byte character: keep what is complete, so that the
        # cut row is rejected as incomplete instead of the whole file being misread as GBK.
        if exc.reason == "unexpected end of data" and exc.end == len(content):
            return content[: exc.start].decode("utf-8"), encoding
    if declared:  # a BOM says UTF-8: other bytes after it are a broken file, not GB18030
        raise file_error("file_encoding", _("文件以 UTF-8 标记开头，但内容不是有效的 UTF-8"))
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise file_error(
            "file_encoding", _("无法识别文件编码：请使用 UTF-8 或 GBK/GB18030")
        ) from None


def _with_header(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame read without a header → its first row as column names (stripped), every value
    a string. Repeated and surplus columns are refused here, before anything is mapped: the
    readers would otherwise rename a repeated header silently (``a_duplicated_0``, ``a_1``)."""
    if frame.height == 0:
        raise file_error("file_empty", _("文件为空"))
    if frame.width > MAX_COLUMNS:
        raise file_error(
            "columns_too_many",
            _("文件有 %(n)s 列，超过 %(max)s 列的上限") % {"n": frame.width, "max": MAX_COLUMNS},
        )
    frame = frame.with_columns(pl.all().cast(pl.Utf8))
    names = [("" if v is None else str(v)).strip().lstrip("\ufeff") for v in frame.row(0)]
    while names and not names[-1]:  # trailing empty header cells: a spreadsheet's leftovers
        names.pop()
    if not names:
        raise file_error("file_no_header", _("文件没有表头行"))
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise file_error(
                "column_duplicated", _("表头中的列「%(col)s」重复") % {"col": name[:50]}
            )
        seen.add(name)
    frame = frame.select(frame.columns[: len(names)]).slice(1)
    frame.columns = [name or f"({i + 1})" for i, name in enumerate(names)]
    if frame.height == 0:
        raise file_error("file_no_rows", _("文件只有表头，没有数据行"))
    return frame


def read_table(content: bytes, name: str = "", fmt: str | None = None) -> Table:
    """Parse ``content`` into a :class:`Table`; raise :class:`DomainError` for an empty,
    truncated, oversized, unreadable or non-tabular file (codes in docs/ingest.md). Messages
    never quote the file's content: it may hold personal data."""
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
        return _read_xlsx(content)
    if fmt == "json":
        text, encoding = decode_text(content)
        return _read_json(text, encoding)
    if fmt == "csv":
        return _read_csv(content)
    raise file_error("file_format", _("不支持的文件格式：%(fmt)s") % {"fmt": fmt})


def _read_csv(content: bytes) -> Table:
    """UTF-8 bytes go to the parser as they are (it skips a BOM, and refuses bytes that are
    not UTF-8); anything else — GB18030, a file cut inside a character, a broken file — is
    decoded first (:func:`decode_text`, which also says why it cannot be) and parsed again.
    A file of hundreds of MB is then held once, not as bytes, text and bytes again."""
    if not content.startswith(BOM):
        _refuse_wide_text(content)
    try:
        frame = _parse_csv(content)
        encoding = "utf-8-sig" if content.startswith(BOM) else "utf-8"
    except _CSV_ERRORS:
        text, encoding = decode_text(content)
        try:
            frame = _parse_csv(text.encode())
        except pl.exceptions.NoDataError:
            raise file_error("file_empty", _("文件为空")) from None
        except _CSV_ERRORS:
            # The parser's own message quotes the offending line: never pass it on.
            raise file_error(
                "file_unreadable", _("CSV 文件无法解析（可能被截断或列数不一致）")
            ) from None
    return Table(_with_header(frame), "csv", encoding)


_CSV_ERRORS = (pl.exceptions.NoDataError, pl.exceptions.ComputeError, pl.exceptions.ShapeError)


def _parse_csv(utf8: bytes) -> pl.DataFrame:
    return pl.read_csv(
        utf8, has_header=False, infer_schema=False, truncate_ragged_lines=False, raise_if_empty=True
    )


def check_unpacked_size(content: bytes) -> None:
    """Refuse an XLSX (a zip) that would unpack to more than the configured limit before any
    of it is parsed: first by the sizes its directory declares, then by decompressing and
    counting, stopping at the limit (a directory can lie)."""
    limit_mb = settings.INGEST_MAX_UNPACKED_MB
    limit = limit_mb * 1024 * 1024
    too_large = file_error(
        "file_too_large",
        _("XLSX 文件解压后超过 %(limit)s MB 的上限，请拆分后报送") % {"limit": limit_mb},
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > limit:
                raise too_large
            total = 0
            for member in members:
                with archive.open(member) as stream:
                    while block := stream.read(1 << 20):
                        total += len(block)
                        if total > limit:
                            raise too_large
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise file_error("file_unreadable", _("XLSX 文件无法打开（可能已损坏或被截断）")) from None


def _read_xlsx(content: bytes) -> Table:
    check_unpacked_size(content)
    try:
        frame = xlsx.read_sheet(content)  # piece by piece: memory follows the rows
    except Exception:
        # Not the reader's message: it may quote cells.
        raise file_error("file_unreadable", _("XLSX 文件无法打开（可能已损坏或被截断）")) from None
    return Table(_with_header(frame), "xlsx", "")


def _read_json(text: str, encoding: str) -> Table:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(
            "file_unreadable",
            _("JSON 文件无法解析（可能被截断）：第 %(line)s 行 %(msg)s")
            % {"line": exc.lineno, "msg": exc.msg},
        ) from None
    except RecursionError:
        raise json_too_deep() from None
    if isinstance(data, dict):
        data = data.get("rows", data.get("data"))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise file_error("file_unreadable", _("JSON 须为对象数组，或含 rows 数组的对象"))
    return Table(rows_to_frame(data), "json", encoding)


def json_too_deep() -> DomainError:
    """The one error for JSON nested deeper than the parser follows (files and API bodies)."""
    return file_error("json_too_deep", _("JSON 嵌套层数过多，无法解析：每个数据行须为一层对象"))


def rows_to_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """JSON rows → frame of strings (numbers become their text; nested values are rejected
    later as invalid because they are kept as JSON text)."""
    if not rows:
        raise file_error("file_empty", _("没有数据行"))
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(str(key).strip(), None)
        if len(columns) > MAX_COLUMNS:
            raise file_error(
                "columns_too_many", _("数据行的键超过 %(max)s 个的上限") % {"max": MAX_COLUMNS}
            )

    def text(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v) if isinstance(v, float) else str(v)
        try:
            return json.dumps(v, ensure_ascii=False)
        except RecursionError:
            raise json_too_deep() from None

    # Keys are compared stripped, as the headers of files are.
    stripped = [{str(k).strip(): v for k, v in r.items()} for r in rows]
    data = {c: [text(r.get(c)) for r in stripped] for c in columns}
    return pl.DataFrame(data, schema={c: pl.Utf8 for c in columns})
