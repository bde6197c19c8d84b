"""Writers of the demo files: CSV (UTF-8, UTF-8 with BOM, GB 18030), XLSX and JSON."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl


def _col(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
}
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def write_xlsx(path: Path, df: pl.DataFrame, sheet: str = "Sheet1") -> None:
    """A minimal valid XLSX with inline strings, its sheet XML built column-wise by Polars.

    xlsxwriter needs ~18 s for a 50,000 × 30 sheet; this takes about a second and is
    byte-for-byte reproducible (fixed ZIP timestamps, no creation date).
    """
    row = (pl.int_range(pl.len()) + 2).cast(pl.String)
    cells = []
    for j, c in enumerate(df.columns):
        value = pl.col(c)
        if df[c].str.contains("[&<>]").any():
            value = value.str.replace_all("&", "&amp;", literal=True).str.replace_all(
                "<", "&lt;", literal=True
            )
            value = value.str.replace_all(">", "&gt;", literal=True)
        # null (empty) values make the whole cell null, and the row skips it
        start = pl.lit(f'<c r="{_col(j)}')
        cells.append(
            pl.concat_str(
                start, row, pl.lit('" t="inlineStr"><is><t>'), value, pl.lit("</t></is></c>")
            )
        )
    rows = pl.concat_str(
        pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>"), ignore_nulls=True
    )
    body = df.select(rows.str.join("")).item() if df.height else ""
    header = "".join(
        f'<c r="{_col(j)}1" t="inlineStr"><is><t>{_esc(c)}</t></is></c>'
        for j, c in enumerate(df.columns)
    )
    parts = {name: _XML_DECL + text for name, text in _XLSX_STATIC.items()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace("{sheet}", _esc(sheet[:31]))
    parts["xl/worksheets/sheet1.xml"] = (
        _XML_DECL + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{header}</row>{body}</sheetData></worksheet>'
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"), compresslevel=1)


class _Writer:
    """Appends chunks to one file in its declared format and encoding."""

    def __init__(self, path: Path, fmt: str, sheet: str) -> None:
        self.path, self.fmt, self.sheet, self.first = path, fmt, sheet, True
        self.pending: list[pl.DataFrame] = []
        self.fh = None if fmt == "xlsx" else path.open("wb")
        if fmt == "csv-utf8-bom":
            self.fh.write(b"\xef\xbb\xbf")
        elif fmt == "json":
            self.fh.write(b"[")

    def write(self, df: pl.DataFrame) -> None:
        if self.fmt == "xlsx":
            self.pending.append(df)
        elif self.fmt == "json":
            body = df.write_json()[1:-1] if df.height else ""
            if body:
                self.fh.write(("" if self.first else ",\n").encode() + body.encode("utf-8"))
                self.first = False
        elif self.fmt == "csv-gb18030":
            text = df.write_csv(include_header=self.first, line_terminator="\r\n")
            self.fh.write(text.encode("gb18030"))
            self.first = False
        else:
            crlf = "\r\n" if self.fmt == "csv-utf8-bom" else "\n"
            df.write_csv(self.fh, include_header=self.first, line_terminator=crlf)
            self.first = False

    def close(self) -> None:
        if self.fmt == "xlsx":
            write_xlsx(self.path, pl.concat(self.pending), self.sheet)
            return
        if self.fmt == "json":
            self.fh.write(b"]\n")
        self.fh.close()
