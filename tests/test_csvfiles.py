"""The project's one CSV writer: every cell guarded against formulas, and a row's line the
same whether the whole frame is written or the row is encoded alone (open data splices files
from kept lines)."""

from __future__ import annotations

import io
import random

import polars as pl

from creditplus.csvfiles import BOM, csv_lines, formula_safe, write_frame

AWKWARD = [
    "a", "", None, 'x"y', "a,b", "l1\nl2", "cr\rx", "\r\n", " sp ", "中文", "tab\tx",
    "back\\slash", "ctl\x01", "emoji😀", "=1+1", "+cmd|x", "-2", "@SUM(A1)", "\u2028",
    '"', ",", "  ", "'quoted",
]  # fmt: skip


def test_a_rows_line_is_what_write_frame_writes_for_it():
    rng = random.Random(20261205)
    rows = [[rng.choice(AWKWARD) for _ in range(4)] for _ in range(5000)]
    frame = pl.DataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate("abcd")},
        schema=dict.fromkeys("abcd", pl.Utf8),
    )
    whole = io.BytesIO()
    write_frame(whole, frame, first=False)
    assert "".join(csv_lines(frame)).encode() == whole.getvalue()


def test_formulas_are_guarded_in_both():
    frame = pl.DataFrame({"a": ["=HYPERLINK(1)", "@SUM(A1)", "ok"]})
    assert csv_lines(frame).to_list() == ["'=HYPERLINK(1)\n", "'@SUM(A1)\n", "ok\n"]
    whole = io.BytesIO()
    write_frame(whole, frame)
    assert whole.getvalue() == BOM + b"a\n'=HYPERLINK(1)\n'@SUM(A1)\nok\n"
    assert formula_safe(frame)["a"].to_list() == ["'=HYPERLINK(1)", "'@SUM(A1)", "ok"]
