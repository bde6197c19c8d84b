"""Row validation against a catalog item's schema, vectorized with Polars.

Every check is a Polars expression over the whole frame; only the (few) rejected values are
turned into Chinese messages one by one. The output is the normalized frame (codes instead of
labels, ISO dates, upper-cased identifiers) and one error row per problem found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditplus import identifiers
from creditplus.catalog.choices import XDR_LB_KIND
from creditplus.catalog.schema import Condition, FieldSpec, ItemSpec
from creditplus.records import amounts, legacy
from creditplus.subjects import pii
from creditplus.subjects.services import find_by_legacy_identifiers

ROW = "__row"
MULTI_SPLIT = r"[;；、,，]"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
ERROR_SCHEMA = {ROW: pl.UInt32, "field": pl.Utf8, "code": pl.Utf8, "message": pl.Utf8}

# Stable row error codes (see docs/ingest.md) with their Chinese message templates.
MESSAGES = {
    "required": gettext_noop("必填字段「{label}」为空"),
    "too_long": gettext_noop("「{label}」超过最大长度 {max_length} 个字符"),
    "code_unknown": gettext_noop("「{label}」的值「{value}」不在代码表 {table} 中"),
    "date_invalid": gettext_noop("「{label}」的值「{value}」不是有效日期（应为 YYYY-MM-DD）"),
    "date_future": gettext_noop("「{label}」{value} 晚于今天"),
    "date_order": gettext_noop("「{label}」{value} 早于「{other}」"),
    "number_invalid": gettext_noop("「{label}」的值「{value}」不是有效数字"),
    "amount_negative": gettext_noop("「{label}」的值「{value}」为负数"),
    "number_scale": gettext_noop("「{label}」的值「{value}」小数位数超过 {scale} 位"),
    "subject_kind_not_allowed": gettext_noop("本事项不接收类别为「{value}」的主体"),
    "duplicate_in_batch": gettext_noop("与本批次第 {value} 行业务主键重复"),
    "amount_currency": gettext_noop(
        "「{label}」的值「{value}」不是人民币金额：本字段只收人民币，外币请填写币种字段"
    ),
    "amount_currency_conflict": gettext_noop(
        "「{label}」的值「{value}」写明的币种与「{other}」不一致"
    ),
    "columns_unknown": gettext_noop("已忽略本事项没有的列：{value}"),
}
EMPTY_VALUES = ("", *amounts.PLACEHOLDERS)
# How many distinct unknown code values of a field a batch lists (most frequent first).
UNKNOWN_VALUES_LISTED = 50
# Brackets and spaces differ between platforms ("有限责任公司(外商投资)" and
# "有限责任公司（外商投资）"): code values are compared without these differences.
_LOOKUP_FOLD = str.maketrans({"(": "（", ")": "）", " ": None, "\u3000": None})


@dataclass
class Validated:
    frame: pl.DataFrame  # normalized values, one column per field, plus ROW and "__kind"
    errors: pl.DataFrame  # ROW, field, code, message — one row per problem
    warnings: pl.DataFrame  # ROW, field, code, message — accepted rows with a flag
    # batch figures: {"unknown_values": {field: {value: count}}} (added up over chunks)
    stats: dict[str, Any] = field(default_factory=dict)


def columns_warning(ignored: list[str]) -> dict[str, Any] | None:
    """The batch's ``columns_unknown`` warning for headers no field (label, code or alias)
    takes, e.g. other platforms' technical columns (ID, RESOURCE_ID, CHECK_FLAG …)."""
    if not ignored:
        return None
    shown = "、".join(c[:50] for c in ignored[:50])
    return {
        "code": "columns_unknown",
        "message": _message("columns_unknown", value=shown),
        "columns": [c[:100] for c in ignored[:200]],
    }


def _message(code: str, **params: object) -> str:
    return _(MESSAGES[code]).format(**params)


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    # one is_in for both: as cheap as the plain == "" it replaces
    return pl.when(stripped.is_in(EMPTY_VALUES)).then(None).otherwise(stripped)


def _fold(expr: pl.Expr) -> pl.Expr:
    """A code value as it is looked up (see ``_LOOKUP_FOLD``)."""
    return (
        expr.str.replace_all(r"[ \u3000]", "")
        .str.replace_all("(", "（", literal=True)
        .str.replace_all(")", "）", literal=True)
    )


def _folded(lookup: dict[str, str]) -> dict[str, str]:
    return {key.translate(_LOOKUP_FOLD): code for key, code in lookup.items()}


def _split(expr: pl.Expr) -> pl.Expr:
    parts = expr.str.replace_all(MULTI_SPLIT, ";").str.split(";")
    return parts.list.eval(pl.element().str.strip_chars()).list.eval(
        pl.element().filter(pl.element() != "")
    )


def _parse_date(expr: pl.Expr) -> pl.Expr:
    # Spreadsheets often give "2025-03-01 00:00:00": keep the date part only.
    text = expr.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(\.0+)?$", "$1")
    return pl.coalesce(
        [text.str.strptime(pl.Date, fmt, strict=False, exact=True) for fmt in DATE_FORMATS]
    )


def condition_expr(cond: Condition, frame_types: dict[str, str]) -> pl.Expr:
    """A boolean expression for a behavior-list / required_if condition on normalized values.

    On a multicode field (values joined by ";"): ``in`` holds when every value is in the
    list, ``not_in`` when none is, ``contains``/``contains_any`` when at least one is. A
    condition on an empty field is false, except ``present: false``.
    """
    col = pl.col(cond.field)
    multi = frame_types.get(cond.field) == "multicode"
    if cond.op == "present":
        result = col.is_not_null() if cond.value in (True, "true", None) else col.is_null()
        return result
    if multi and cond.op in ("in", "not_in", "contains", "contains_any"):
        parts = col.str.split(";")
        hits = parts.list.eval(pl.element().is_in(cond.value))
        result = {
            "in": hits.list.all(),
            "not_in": ~hits.list.any(),
            "contains": hits.list.any(),
            "contains_any": hits.list.any(),
        }[cond.op]
    elif cond.op in ("in", "contains", "contains_any"):
        result = col.is_in(cond.value)
    elif cond.op == "not_in":
        result = ~col.is_in(cond.value)
    elif cond.op == "eq" and frame_types.get(cond.field) not in ("decimal", "integer"):
        result = col == str(cond.value)
    else:
        number = col.cast(pl.Float64, strict=False)
        bound = float(cond.value)
        result = {
            "gt": number > bound,
            "gte": number >= bound,
            "lt": number < bound,
            "lte": number <= bound,
            "eq": number == bound,
        }[cond.op]
    return (col.is_not_null() & result).fill_null(False)


class RowValidator:
    """Validates frames of one catalog item (code tables resolved once)."""

    def __init__(
        self,
        spec: ItemSpec,
        code_tables: dict[str, dict[str, str]],
        today: date,
        legacy_lookup: legacy.Lookup = find_by_legacy_identifiers,
    ):
        self.spec = spec
        self.tables = code_tables
        self.today = today
        self.types = {f.code: f.type for f in spec.fields}
        self.legacy_lookup = legacy_lookup
        # Currency names and codes an amount may carry (the ZBBZ code table).
        self.currencies = {
            k: v for k, v in (code_tables.get("ZBBZ") or {"人民币": "CNY"}).items() if v != "其他"
        } | {"人民币": "CNY", "CNY": "CNY"}

    def validate(self, raw: pl.DataFrame) -> Validated:
        """``raw`` has ROW plus one Utf8 column per field code (missing columns are null)."""
        spec = self.spec
        frame = raw.with_columns(
            [_blank_to_null(pl.col(f.code)).alias(f.code) for f in spec.fields]
        )
        self._pending = []
        self._unknown: list[tuple[pl.Expr, FieldSpec]] = []
        self._stats: dict[str, Any] = {}
        frame, errors, warnings = self._prepare(frame)
        normalized: list[pl.Expr] = []
        for f in spec.fields:
            expr, checks, warns = self._field(f, frame)
            normalized.append(expr.alias(f.code))
            errors.extend(checks)
            warnings.extend(warns)
        errors.extend(self._evaluate(frame, frame))
        out = frame.with_columns(normalized)
        # Conditions (required_if, not_before) compare normalized values.
        for f in spec.fields:
            errors.extend(self._cross_field(f, out, frame))
        out, kind_errors = self._kind(out)
        errors.extend(kind_errors)
        errors.extend(self._evaluate(out, frame))
        found = pl.concat(errors, how="vertical") if errors else pl.DataFrame(schema=ERROR_SCHEMA)
        self._count_unknown(frame, found)
        return Validated(
            out,
            # One rule can be implied by two checks (required_if and the subject's key).
            found.unique(subset=[ROW, "field", "code"], keep="first", maintain_order=True),
            pl.concat(warnings, how="vertical") if warnings else pl.DataFrame(schema=ERROR_SCHEMA),
            self._stats,
        )

    # -- before the field checks: amounts with units, old identifiers ---------------------
    def _prepare(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list, list]:
        errors: list[pl.DataFrame] = []
        warnings: list[pl.DataFrame] = []
        for f in self.spec.fields:
            if f.type == "decimal":
                frame, amount_errors = self._amount(f, frame)
                errors.extend(amount_errors)
        s = self.spec.subject
        if s.org_code:
            frame = legacy.normalize_org_codes(frame, s.org_code)
        if s.uscc and (s.org_code or s.reg_no) and s.fixed_kind != "person":
            kinds = self.tables.get(self._code_table(s.kind) or "", {}) if s.kind else {}
            kind = (
                frame.get_column(s.kind).replace_strict(kinds, default=None, return_dtype=pl.Utf8)
                if s.kind
                else None
            )
            needs = frame.get_column(s.uscc).is_null()
            if kind is not None:
                needs = needs & (kind.is_null() | (kind != "自然人"))
            frame, legacy_errors, legacy_warnings = legacy.resolve(
                frame, self.spec, needs, self.legacy_lookup, ROW
            )
            errors.append(legacy_errors)
            warnings.append(legacy_warnings)
        return frame, errors, warnings

    def _amount(self, f: FieldSpec, frame: pl.DataFrame) -> tuple[pl.DataFrame, list]:
        """Amounts written with separators, units and currencies → plain numbers in the
        field's unit; a foreign currency goes into the field's currency field."""
        submitted = frame
        parsed = amounts.parse_amounts(
            frame.get_column(f.code), amounts.field_unit(f.label, f.unit), self.currencies
        )
        frame = frame.with_columns(parsed.get_column("value").alias(f.code))
        currency = parsed.get_column("currency")
        foreign = currency.is_not_null() & (currency != amounts.CNY)
        if not foreign.any():
            return frame, []
        if not f.currency_field:
            return frame, [self._rows(submitted, foreign, f, "amount_currency")]
        other = self.spec.field(f.currency_field)
        given = frame.get_column(other.code)
        given_code = given.replace_strict(
            self.tables.get(other.code_table or "", {}), default=None, return_dtype=pl.Utf8
        )
        conflict = foreign & given.is_not_null() & (given_code != currency).fill_null(True)
        frame = frame.with_columns(
            pl.when(pl.lit(foreign) & pl.col(other.code).is_null())
            .then(pl.lit(currency))
            .otherwise(pl.col(other.code))
            .alias(other.code)
        )
        errors = []
        if conflict.any():
            errors.append(
                self._rows(submitted, conflict, f, "amount_currency_conflict", other=other.label)
            )
        return frame, errors

    # -- one field ----------------------------------------------------------------------
    def _field(
        self, f: FieldSpec, frame: pl.DataFrame
    ) -> tuple[pl.Expr, list[pl.DataFrame], list[pl.DataFrame]]:
        col = pl.col(f.code)
        checks: list[pl.DataFrame] = []
        warns: list[pl.DataFrame] = []
        if f.required:
            checks.append(self._rows(frame, col.is_null(), f, "required"))
        if f.max_length:
            checks.append(self._rows(frame, col.str.len_chars() > f.max_length, f, "too_long"))
        expr: pl.Expr = col
        if f.type == "code":
            lookup = _folded(self.tables[f.code_table or ""])
            expr = _fold(col).replace_strict(lookup, default=None, return_dtype=pl.Utf8)
            unknown = col.is_not_null() & expr.is_null()
            checks.append(self._rows(frame, unknown, f, "code_unknown"))
            self._unknown.append((unknown, f))
        elif f.type == "multicode":
            lookup = _folded(self.tables[f.code_table or ""])
            parts = _split(col)
            mapped = parts.list.eval(
                _fold(pl.element()).replace_strict(lookup, default=None, return_dtype=pl.Utf8)
            )
            bad = col.is_not_null() & (
                mapped.list.eval(pl.element().is_null()).list.any() | (parts.list.len() == 0)
            )
            checks.append(self._rows(frame, bad, f, "code_unknown"))
            self._unknown.append((bad, f))
            expr = (
                pl.when(bad)
                .then(None)
                .otherwise(mapped.list.unique(maintain_order=True).list.join(";"))
            )
        elif f.type == "date":
            parsed = _parse_date(col)
            checks.append(
                self._rows(frame, col.is_not_null() & parsed.is_null(), f, "date_invalid")
            )
            if f.not_future:
                checks.append(self._rows(frame, parsed > pl.lit(self.today), f, "date_future"))
            expr = parsed.dt.strftime("%Y-%m-%d")
        elif f.type in ("decimal", "integer"):
            pattern = r"^\d+$" if f.type == "integer" else r"^\d+(\.\d+)?$"
            negative = col.str.contains(r"^-\s*\d+(\.\d+)?$")
            checks.append(self._rows(frame, negative, f, "amount_negative"))
            checks.append(
                self._rows(
                    frame,
                    col.is_not_null() & ~negative & ~col.str.contains(pattern),
                    f,
                    "number_invalid",
                )
            )
            if f.type == "decimal" and f.scale is not None:
                too_fine = col.str.contains(rf"^\d+\.\d{{{f.scale + 1},}}$")
                checks.append(self._rows(frame, too_fine, f, "number_scale", scale=f.scale))
            # Canonical text: no leading zeros, no trailing fractional zeros.
            expr = (
                col.str.replace(r"^0+(\d)", "$1")
                .str.replace(r"(\.\d*?)0+$", "$1")
                .str.replace(r"\.$", "")
            )
        elif f.type == "uscc":
            result = _checked_once(identifiers.uscc_checks, frame.get_column(f.code))
            present = frame.get_column(f.code).is_not_null()
            bad = present & result.get_column("error").is_not_null()
            checks.append(self._identifier_rows(frame, bad, result, "error", f))
            warned = present & ~bad & result.get_column("warning").is_not_null()
            warns.append(self._identifier_rows(frame, warned, result, "warning", f))
            expr = pl.when(col.is_not_null()).then(pl.lit(result.get_column("value")))
        elif f.type == "id_number":
            expr, c, w = self._id_number(f, frame)
            checks.extend(c)
            warns.extend(w)
        return expr, checks, warns

    def _count_unknown(self, frame: pl.DataFrame, found: pl.DataFrame) -> None:
        """List each distinct unknown code value with its count on the batch, so that the
        code table's synonyms can be extended from what departments really send. Only the
        fields that had a ``code_unknown`` are counted (most chunks have none)."""
        hit = set(found.filter(pl.col("code") == "code_unknown").get_column("field").to_list())
        for unknown, f in self._unknown:
            if f.code not in hit:
                continue
            counts = (
                frame.filter(unknown.fill_null(False))
                .group_by(pl.col(f.code).str.slice(0, 100))
                .len()
                .sort(["len", f.code], descending=[True, False])
                .head(UNKNOWN_VALUES_LISTED)
            )
            self._stats.setdefault("unknown_values", {})[f.code] = dict(counts.iter_rows())

    def _id_number(
        self, f: FieldSpec, frame: pl.DataFrame
    ) -> tuple[pl.Expr, list[pl.DataFrame], list[pl.DataFrame]]:
        col = pl.col(f.code)
        type_field = self._id_type_field(f.code)
        if type_field:
            lookup = self.tables.get(self._code_table(type_field) or "", {})
            id_type = pl.col(type_field).replace_strict(lookup, default=None, return_dtype=pl.Utf8)
            is_ric = id_type.is_null() | (id_type == "身份证")
        else:
            is_ric = pl.lit(True)
        mask = frame.select((col.is_not_null() & is_ric).alias("m")).get_column("m")
        result = _checked_once(
            lambda values: identifiers.resident_id_checks(values, today=self.today),
            frame.get_column(f.code),
        )
        bad = mask & result.get_column("error").is_not_null()
        warned = mask & ~bad & result.get_column("warning").is_not_null()
        expr = (
            pl.when(col.is_not_null() & is_ric)
            .then(pl.lit(result.get_column("value")))
            .otherwise(col.str.to_uppercase())
        )
        return (
            expr,
            [self._identifier_rows(frame, bad, result, "error", f)],
            [self._identifier_rows(frame, warned, result, "warning", f)],
        )

    def _id_type_field(self, number_field: str) -> str | None:
        s = self.spec.subject
        pairs = {s.id_number: s.id_type, s.legal_rep_id_number: s.legal_rep_id_type}
        return pairs.get(number_field)

    def _code_table(self, code: str) -> str | None:
        return self.spec.field(code).code_table

    # -- conditions across fields -------------------------------------------------------
    def _cross_field(
        self, f: FieldSpec, out: pl.DataFrame, raw: pl.DataFrame
    ) -> list[pl.DataFrame]:
        checks = []
        if f.required_if:
            cond = condition_expr(f.required_if, self.types)
            checks.append(self._rows(out, cond & pl.col(f.code).is_null(), f, "required"))
        if f.not_before:
            other = self.spec.field(f.not_before)
            later = pl.col(f.code) < pl.col(f.not_before)
            checks.append(self._rows(out, later, f, "date_order", other=other.label))
        return checks

    def _kind(self, out: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
        s = self.spec.subject
        if s.fixed_kind:
            kind = pl.lit(s.fixed_kind)
        else:
            kind = pl.col(s.kind).replace_strict(
                {k: str(v) for k, v in XDR_LB_KIND.items()}, default=None, return_dtype=pl.Utf8
            )
        out = out.with_columns(kind.alias("__kind"))
        checks = []
        not_allowed = out.get_column("__kind").is_not_null() & ~out.get_column("__kind").is_in(
            list(self.spec.subject_kinds)
        )
        if not_allowed.any():
            field = self.spec.field(s.kind) if s.kind else self.spec.field(s.name)
            checks.append(self._rows(out, not_allowed, field, "subject_kind_not_allowed"))
        # The identifier the subject is keyed by must be present for its kind.
        if s.uscc:
            needs = out.select(
                pl.col("__kind").is_in(["legal", "individual"]) & pl.col(s.uscc).is_null()
            ).to_series()
            checks.append(self._rows(out, needs, self.spec.field(s.uscc), "required"))
        if s.id_number:
            needs = out.select(
                (pl.col("__kind") == "person") & pl.col(s.id_number).is_null()
            ).to_series()
            checks.append(self._rows(out, needs, self.spec.field(s.id_number), "required"))
        return out, checks

    # -- error rows ---------------------------------------------------------------------
    def _rows(
        self,
        frame: pl.DataFrame,
        mask: pl.Expr | pl.Series,
        f: FieldSpec,
        code: str,
        **params: object,
    ) -> pl.DataFrame:
        """Error rows where ``mask`` holds. An expression mask is only recorded here and
        evaluated later with all others in one pass over the frame (see :meth:`_evaluate`)."""
        if isinstance(mask, pl.Expr):
            self._pending.append((mask, f, code, params))
            return pl.DataFrame(schema=ERROR_SCHEMA)
        mask = mask.fill_null(False)
        hits = frame.filter(mask).select(
            ROW,
            pl.col(f.code).alias("value")
            if f.code in frame.columns
            else pl.lit(None).alias("value"),
        )
        if hits.height == 0:
            return pl.DataFrame(schema=ERROR_SCHEMA)
        base = {
            "label": f.label,
            "max_length": f.max_length,
            "table": f.code_table,
            "scale": f.scale,
            **params,
        }
        values = hits.get_column("value").to_list()
        if f.personal:  # messages are shown and stored: never a personal value in clear
            values = [pii.mask_id_number(v) if isinstance(v, str) else v for v in values]
        messages = [_message(code, **{**base, "value": v}) for v in values]
        return pl.DataFrame(
            {
                ROW: hits.get_column(ROW),
                "field": [f.code] * hits.height,
                "code": [code] * hits.height,
                "message": messages,
            },
            schema=ERROR_SCHEMA,
        )

    def _evaluate(self, frame: pl.DataFrame, values: pl.DataFrame) -> list[pl.DataFrame]:
        """Evaluate the recorded masks over ``frame`` in one pass; messages quote ``values``."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        masks = frame.select(
            [m.fill_null(False).alias(f"m{i}") for i, (m, _, _, _) in enumerate(pending)]
        )
        hits = masks.select(pl.all().any()).row(0)
        return [
            self._rows(values, masks.get_column(f"m{i}"), f, code, **params)
            for i, (_, f, code, params) in enumerate(pending)
            if hits[i]
        ]

    def _identifier_rows(
        self, frame: pl.DataFrame, mask: pl.Series, result: pl.DataFrame, column: str, f: FieldSpec
    ) -> pl.DataFrame:
        mask = mask.fill_null(False)
        if not mask.any():
            return pl.DataFrame(schema=ERROR_SCHEMA)
        rows = frame.get_column(ROW).filter(mask)
        codes = result.get_column(column).filter(mask).to_list()
        if column == "warning":
            # Warnings are counted and flagged on the record; nobody reads 100,000 messages.
            messages = [""] * len(codes)
        else:
            values = result.get_column("value").filter(mask).to_list()
            messages = [
                _label(f.label, identifiers.describe(c, v, self.today))
                for c, v in zip(codes, values, strict=True)
            ]
        return pl.DataFrame(
            {ROW: rows, "field": [f.code] * len(codes), "code": codes, "message": messages},
            schema=ERROR_SCHEMA,
        )


def _checked_once(check: Callable[[pl.Series], pl.DataFrame], values: pl.Series) -> pl.DataFrame:
    """Run an identifier check on the distinct values only and spread the results back to
    every row: authority codes repeat on every row of a file, subjects on many."""
    values = values.fill_null("").rename("input")
    distinct = values.unique()
    result = check(distinct).with_columns(distinct)
    return (
        values.to_frame().join(result, on="input", how="left", maintain_order="left").drop("input")
    )


def _label(label: str, message: str) -> str:
    """Name the column unless the message already does (e.g. 「处罚机关统一社会信用代码」)."""
    return message if message.startswith(label) else f"「{label}」{message}"


def personal_key_fields(spec: ItemSpec) -> list[str]:
    """Key fields holding a personal identifier (a resident ID): kept as keyed hashes."""
    return [
        c for c in spec.natural_key if spec.field(c).personal or spec.field(c).type == "id_number"
    ]


def key_part(value: str) -> str:
    """A personal key part at rest: its keyed hash (the same one subjects are found by), so that
    equal IDs still give equal keys while no key holds an ID in clear."""
    return "h:" + pii.lookup_hash(value)


def natural_keys(frame: pl.DataFrame, spec: ItemSpec) -> pl.Series:
    """The records' business keys as text: the key fields' normalized values joined by "|",
    personal parts as :func:`key_part`."""
    personal = personal_key_fields(spec)
    if personal:
        frame = frame.with_columns(
            [
                pl.col(c).replace_strict(
                    {v: key_part(v) for v in frame.get_column(c).drop_nulls().unique().to_list()},
                    default=None,
                    return_dtype=pl.Utf8,
                )
                for c in personal
            ]
        )
    # Empty parts stay empty (not null): e.g. 失信被执行人 is keyed by case number plus the
    # USCC *or* the ID number of the debtor.
    key = pl.concat_str([pl.col(c).fill_null("") for c in spec.natural_key], separator="|")
    return frame.select(key.alias("natural_key")).to_series()
