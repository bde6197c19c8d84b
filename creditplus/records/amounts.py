"""Amounts as departments and other platforms write them, and placeholders for "nothing".

Registered capital and fines arrive as ``5``, ``1,000(万元人民币)``, ``50万美元``,
``1000.5万元``, ``人民币300万元``, ``120000元`` or a JSON number such as ``1e-05``. A field
declares the unit its numbers are stored in (``unit``, or ``(万元)`` at the end of its
label); :func:`parse_amounts` turns such text into that unit and reads the currency. Plain
numbers (the usual case) never reach Python: only the distinct values that are not plain
numbers are parsed one by one.

Placeholders (``N/A``, ``-``, ``—``, ``无``, ``/``, ``null``) mean the value is missing: every
field treats them as empty, and the required rules apply after that.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import polars as pl

#: Values that mean "no value" in exports and spreadsheets (compared after stripping).
PLACEHOLDERS = ("N/A", "n/a", "N/a", "-", "－", "—", "——", "无", "/", "null", "NULL", "Null")

PLAIN = r"^\d+(\.\d+)?$"
CNY = "CNY"
# number with thousand separators, or a float as JSON writes it (1e-05)
_NUMBER = re.compile(r"(\d{1,3}(?:[,，]\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?")
_BRACKETS = str.maketrans("", "", "()（）[]【】 \u3000")
_SCALE = {"": Decimal(1), "万": Decimal(10_000), "亿": Decimal(100_000_000)}


def field_unit(label: str, unit: str | None) -> str | None:
    """The unit a decimal field's numbers are in: declared, or ``(万元)``/``(元)`` ending its
    label; None when it is no money amount (then unit words are invalid)."""
    if unit:
        return unit
    match = re.search(r"[（(](万元|元)[)）]$", label)
    return match.group(1) if match else None


def _split_unit(text: str, currencies: dict[str, str]) -> tuple[Decimal, str] | None:
    """(multiplier to 元, currency code) of what surrounds the number, or None if unreadable.

    Reads e.g. ``万元人民币``, ``万美元``, ``元``, ``人民币万元``: an optional scale (万, 亿),
    then 元 and/or a currency name, in either order.
    """
    text = text.translate(_BRACKETS)
    currency = None
    for name in sorted(currencies, key=len, reverse=True):
        if name and name in text:
            currency = currencies[name]
            text = text.replace(name, "", 1)
            break
    scale = text[:1] if text[:1] in ("万", "亿") else ""
    rest = text[len(scale) :]
    if rest not in ("", "元"):
        return None
    if not (scale or rest or currency):
        return None
    return _SCALE[scale], currency or CNY


def parse_amount(text: str, unit: str | None, currencies: dict[str, str]) -> tuple[str, str] | None:
    """``(number in the field's unit as plain text, currency code)``, or None if unreadable.

    ``currencies`` maps currency names and codes (人民币, 美元, USD …) to codes.
    """
    text = text.strip()
    match = _NUMBER.search(text)
    if not match:
        return None
    head, tail = text[: match.start()], text[match.end() :]
    digits = match.group(1).replace(",", "").replace("，", "") + (match.group(2) or "")
    try:
        number = Decimal(digits + (match.group(3) or ""))
    except InvalidOperation:
        return None
    if head or tail:
        if unit is None or head.strip() not in ("", *currencies):
            return None
        read = _split_unit(head + tail, currencies)
        if read is None:
            return None
        scale, currency = read
        number = number * scale / (Decimal(10_000) if unit == "万元" else Decimal(1))
    else:
        currency = CNY
    return _plain(number), currency


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_amounts(values: pl.Series, unit: str | None, currencies: dict[str, str]) -> pl.DataFrame:
    """Parse a column of amounts: ``value`` (plain number text in the field's unit; the input
    unchanged where unreadable or already plain) and ``currency`` (code; null for plain
    numbers and unreadable values). Only the distinct non-plain values are parsed."""
    odd = values.filter(values.is_not_null() & ~values.str.contains(PLAIN)).unique().to_list()
    parsed = {v: parse_amount(v, unit, currencies) for v in odd}
    numbers = {v: p[0] for v, p in parsed.items() if p}
    money = {v: p[1] for v, p in parsed.items() if p}
    return pl.DataFrame(
        {
            "value": values.replace(numbers) if numbers else values,
            "currency": values.replace_strict(money, default=None, return_dtype=pl.Utf8),
        }
    )
