"""Rows that name their organisation by an old identifier instead of a USCC.

Records from before 2016 often carry only the 9-character organisation code (组织机构代码,
GB 11714) or the 15-digit registration number (注册号); some registration rows still do. An
organisation row without a USCC is resolved through the registry: the organisation code
embedded in a registered USCC (positions 9–17), or a registration number the registration
item recorded for a subject. A resolved row gets that USCC and the warning
``legacy_identifier``; any other is refused with the reason (bad check character, no
registered subject, several subjects). A row that has a USCC is never looked up: its old
identifiers are kept as submitted (an organisation code without its hyphen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditplus import identifiers
from creditplus.catalog.schema import ItemSpec

# (organisation codes, registration numbers) → (org code → USCCs, reg no → USCCs)
Lookup = Callable[[list[str], list[str]], tuple[dict[str, list[str]], dict[str, list[str]]]]

MESSAGES = {
    "legacy_identifier": gettext_noop("按{kind}{value}关联到已登记主体 {uscc}"),
    "legacy_not_found": gettext_noop(
        "{kind}{value}在主体库中没有对应的已登记主体，请填写统一社会信用代码"
    ),
    "legacy_ambiguous": gettext_noop(
        "{kind}{value}对应多个已登记主体（{usccs}），请填写统一社会信用代码"
    ),
}
KIND_LABELS = {"org": gettext_noop("组织机构代码"), "reg": gettext_noop("注册号")}


@dataclass
class Outcome:
    """One row's result: the USCC found, or the error; ``field`` is the identifier used."""

    field: str
    code: str
    message: str
    uscc: str | None = None


def normalize_org_codes(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Write organisation codes as they appear inside a USCC: without the hyphen, capital
    letters (``ma1k3btp-2`` → ``MA1K3BTP2``). Anything not shaped like one stays as submitted;
    the check character is only checked when the code identifies the row (:func:`resolve`)."""
    col = pl.col(column)
    shaped = col.str.contains(r"^[0-9A-Za-z]{8}-?[0-9Xx]$")
    canonical = col.str.replace("-", "", literal=True).str.to_uppercase()
    return frame.with_columns(pl.when(shaped).then(canonical).otherwise(col).alias(column))


def resolve(
    frame: pl.DataFrame, spec: ItemSpec, needs: pl.Series, lookup: Lookup, row: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Fill the USCC of the rows in ``needs`` (organisation rows without one) from their old
    identifiers. Returns the frame, error rows and warning rows (``row``, field, code,
    message). Rows in ``needs`` without any old identifier are left alone: the USCC's own
    required rule reports them."""
    s = spec.subject
    org = frame.get_column(s.org_code) if s.org_code else pl.Series([None] * frame.height)
    reg = frame.get_column(s.reg_no) if s.reg_no else pl.Series([None] * frame.height)
    needs = needs.fill_null(False) & (org.is_not_null() | reg.is_not_null())
    if not needs.any():
        return frame, _frame([], row), _frame([], row)
    rows = frame.filter(needs).get_column(row).to_list()
    pairs = list(zip(org.filter(needs).to_list(), reg.filter(needs).to_list(), strict=True))
    checked_org = {v: identifiers.check_org_code(v) for v, _ in pairs if v}
    checked_reg = {v: identifiers.check_registration_number(v) for _, v in pairs if v}
    by_org, by_reg = lookup(
        sorted({c.value for c in checked_org.values() if c.ok}),
        sorted({c.value for c in checked_reg.values() if c.ok}),
    )
    outcomes = []
    for org_value, reg_value in pairs:
        tries = []
        if reg_value:
            tries.append((s.reg_no, "reg", checked_reg[reg_value], by_reg))
        if org_value:
            tries.append((s.org_code, "org", checked_org[org_value], by_org))
        outcomes.append(_outcome(tries))
    resolved = pl.DataFrame(
        {row: rows, "__uscc": [o.uscc for o in outcomes]},
        schema={row: pl.UInt32, "__uscc": pl.Utf8},
    )
    frame = (
        frame.join(resolved, on=row, how="left")
        .with_columns(pl.coalesce(pl.col(s.uscc), pl.col("__uscc")).alias(s.uscc))
        .drop("__uscc")
    )
    found = [(r, o) for r, o in zip(rows, outcomes, strict=True) if o.uscc]
    failed = [(r, o) for r, o in zip(rows, outcomes, strict=True) if not o.uscc]
    return frame, _frame(failed, row), _frame(found, row)


def _outcome(tries: list[tuple[str | None, str, identifiers.IdentifierCheck, dict]]) -> Outcome:
    """The first identifier that names exactly one subject wins; otherwise the first
    identifier's problem is the reason."""
    problems = []
    for field, kind, check, index in tries:
        label = _(KIND_LABELS[kind])
        if not check.ok:
            problems.append(Outcome(field or "", check.error or "", check.message or ""))
            continue
        usccs = index.get(check.value, [])
        if len(usccs) == 1:
            message = _(MESSAGES["legacy_identifier"]).format(
                kind=label, value=check.value, uscc=usccs[0]
            )
            return Outcome(field or "", "legacy_identifier", message, usccs[0])
        code = "legacy_ambiguous" if usccs else "legacy_not_found"
        message = _(MESSAGES[code]).format(kind=label, value=check.value, usccs="、".join(usccs))
        problems.append(Outcome(field or "", code, message))
    return problems[0]


def _frame(items: list[tuple[int, Outcome]], row: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            row: [r for r, _ in items],
            "field": [o.field for _, o in items],
            "code": [o.code for _, o in items],
            "message": [o.message for _, o in items],
        },
        schema={row: pl.UInt32, "field": pl.Utf8, "code": pl.Utf8, "message": pl.Utf8},
    )
