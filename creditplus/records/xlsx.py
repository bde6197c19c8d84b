"""Read an XLSX file's first sheet in chunks, so that memory follows the rows read, not the
sheet's cell grid (calamine builds the whole grid: a million 17-column rows took 1.9 GB).

The sheet's XML is decompressed as a stream and cut after a ``</row>`` every
:data:`CHUNK_XML_BYTES`. Each piece goes to calamine as a small workbook of its own: the
file's other parts (shared strings, styles, workbook) unchanged, and the sheet's own head
(namespaces, columns) with the piece's rows. Calamine therefore reads every cell exactly as it
reads the whole file — dates, numbers, shared and rich text — and only the rows are split.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree

import fastexcel
import polars as pl

# About 7,000 rows of a typical 17-column sheet with inline strings (15,000 with shared
# strings). Calamine reads the shared strings again for every piece, so a piece is at least
# PARTS_RATIO times the file's other parts (measured: 8 MB pieces peaked lower than 16 or 64).
CHUNK_XML_BYTES = 8 * 1024 * 1024
PARTS_RATIO = 4
BLOCK = 1 << 20
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
SHEET_DATA = re.compile(rb"<(?:(\w+):)?sheetData\b[^>]*?(/?)>")
DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")


class SheetError(ValueError):
    """The workbook is not laid out as this reader expects (e.g. strict OOXML namespaces):
    it is then read whole, as before."""


def first_sheet_path(archive: zipfile.ZipFile) -> str:
    """The part name of the workbook's first sheet, the one calamine reads by default."""
    # Two small parts, sizes bounded by check_unpacked_size; the bundled expat (>= 2.4) caps
    # entity expansion and ElementTree resolves no external entity.
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314
    sheet = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
    if sheet is None:
        raise SheetError("no sheet")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    for rel in rels.iter(f"{RELS}Relationship"):
        if rel.get("Id") == sheet.get(OFFICE_RID):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else "xl/" + target
            return posixpath.normpath(path)
    raise SheetError("sheet part not found")


def _pieces(stream: io.BufferedIOBase, size: int) -> Iterator[tuple[bytes, bytes, bytes]]:
    """The sheet XML as (head, rows, tail) pieces of about ``size`` bytes, each a well-formed
    sheet once joined."""
    buffer = b""
    while (match := SHEET_DATA.search(buffer)) is None:
        block = stream.read(BLOCK)
        if not block:
            raise SheetError("no sheetData")
        buffer += block
    prefix = match.group(1).decode() + ":" if match.group(1) else ""
    head = DIMENSION.sub(b"", buffer[: match.end()])  # the whole sheet's size, not the piece's
    if match.group(2):  # <sheetData/>: no rows at all
        yield head, b"", buffer[match.end() :] + stream.read()
        return
    root = re.search(rb"<([\w:]*worksheet)\b", head)
    if root is None:
        raise SheetError("no worksheet")
    close = f"</{prefix}sheetData></{root.group(1).decode()}>".encode()
    row_end = f"</{prefix}row>".encode()
    rows = bytearray(buffer[match.end() :])
    del buffer
    while True:
        # Cut after the first row that ends past the piece's size (rows never hold "</").
        while (cut := rows.find(row_end, size)) >= 0:
            yield head, bytes(rows[: cut + len(row_end)]), close
            del rows[: cut + len(row_end)]
        block = stream.read(BLOCK)
        if not block:
            break
        rows += block
    end = rows.rfind(f"</{prefix}sheetData>".encode())
    yield head, bytes(rows[:end]), bytes(rows[end:]) if end >= 0 else close


def _piece_frame(parts: dict[str, bytes], sheet: str, xml: bytes) -> pl.DataFrame:
    """Calamine's reading of one piece: a workbook of the file's other parts and this XML."""
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_STORED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
        out.writestr(sheet, xml)
    return _frame(book.getvalue())


def _kept(name: str, sheet: str) -> bool:
    """Parts a piece's workbook needs: not the sheet itself, folders or pictures."""
    return name != sheet and not name.endswith("/") and not name.startswith("xl/media/")


def _part(archive: zipfile.ZipFile, name: str) -> bytes:
    """A part for the pieces' workbooks; the other sheets stay in it, empty (never read)."""
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        return f'<worksheet xmlns="{MAIN[1:-1]}"><sheetData/></worksheet>'.encode()
    return archive.read(name)


def _read_pieces(content: bytes) -> list[pl.DataFrame]:
    frames = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = first_sheet_path(archive)
        parts = {n: _part(archive, n) for n in archive.namelist() if _kept(n, sheet)}
        size = max(CHUNK_XML_BYTES, PARTS_RATIO * sum(map(len, parts.values())))
        with archive.open(sheet) as stream:
            for head, rows, tail in _pieces(stream, size):
                frames.append(_piece_frame(parts, sheet, head + rows + tail))
                del rows
    return frames


def _frame(content: bytes) -> pl.DataFrame:
    """Calamine's reading of a workbook's first sheet, columns named by their index in the
    sheet, blank rows dropped (as polars' ``read_excel`` drops them)."""
    loaded = fastexcel.read_excel(content).load_sheet(0, header_row=None, dtypes="string")
    frame = loaded.to_polars()
    frame.columns = [str(c.absolute_index) for c in loaded.selected_columns]
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))


def read_sheet(content: bytes) -> pl.DataFrame:
    """The first sheet as a frame of strings, read piece by piece: the cells calamine reads
    from the whole file, in the same places, blank rows dropped as polars' ``read_excel``
    drops them. Columns are named by position ("0", "1", …)."""
    try:
        frames = _read_pieces(content)
    except SheetError:
        frames = [_frame(content)]
    frames = [f for f in frames if f.width]
    if not frames:
        return pl.DataFrame()
    # A piece covers the columns its own cells span: put every piece on the sheet's span.
    indexes = [int(c) for f in frames for c in f.columns]
    span = [str(i) for i in range(min(indexes), max(indexes) + 1)]
    frame = pl.concat(
        [
            f.with_columns(
                pl.lit(None, pl.Utf8).alias(c) for c in span if c not in f.columns
            ).select(span)
            for f in frames
        ],
        rechunk=False,
    )
    return frame.rename({c: str(i) for i, c in enumerate(span)})
