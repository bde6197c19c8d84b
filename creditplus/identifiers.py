"""Validation of Chinese identifiers: unified social credit code and resident ID number.

Two ways to validate, with the same rules and the same answers:

* :func:`check_uscc` / :func:`check_resident_id` — one value, for forms and the API; the
  result carries a Chinese message naming the problem.
* :func:`uscc_checks` / :func:`resident_id_checks` — a whole Polars series at once, for
  ingest (millions of rows); :func:`with_uscc_checks` / :func:`with_resident_id_checks`
  add the same columns inside a larger lazy query. Pure Polars expressions, no Python per
  row (about 0.3–0.4 s per million values on two cores). The error column holds codes
  only; :func:`describe` renders the message of a rejected row when needed.

The two are kept in agreement by property tests over arbitrary and near-valid strings.

Normalisation (both ways): strip surrounding whitespace (ASCII whitespace, no-break space,
ideographic space, BOM, zero-width space — what spreadsheets and Chinese IMEs leave
behind), then upper-case ASCII letters only (so ``x`` becomes ``X``). Nothing else is
"fixed": inner spaces, hyphens and full-width digits are rejected with the reason.

Unified social credit code (GB 32100-2015), error codes in the order they are tried:
``uscc_empty``, ``uscc_length`` (18 characters), ``uscc_charset`` (0-9 and A-Z without
I, O, Z, S, V; positions 3–8, the division code, digits only), ``uscc_authority``
(position 1 one of 1–9, A, N, Y), ``uscc_check`` (position 18). Position 2 may be any
character of the alphabet (N1–N3 rural collectives, future types). The embedded
organisation code (positions 9–17, GB 11714) carries its own check digit; codes exist
whose organisation code does not satisfy it, so a mismatch only gives the warning
``uscc_org_check`` and never rejects a code.

Resident ID number (GB 11643): ``ric_empty``, ``ric_length`` (18), ``ric_charset``
(17 digits, then a digit or X), ``ric_division`` (first two digits a province-level code
of GB/T 2260: 11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81, 82), ``ric_date`` (birth
date at positions 7–14 a real date, year ≥ 1900, not after today in China), ``ric_check``
(ISO 7064 MOD 11-2).

Old identifiers, single value only (they identify a row only when it has no USCC, see
``records.legacy``): the GB 11714 organisation code (:func:`check_org_code`; 8 digits or
capital letters and a check character 0–9/X, written with or without the hyphen;
``org_code_format``, ``org_code_check``) and the 15-digit registration number of 2007–2015
(:func:`check_registration_number`; ISO 7064 MOD 11,10 check digit, computed by stdnum;
``reg_no_format``, ``reg_no_check``).

Decision — division codes: the 6-digit division code is looked up in python-stdnum's
table of every GB/T 2260 code with the years it was in use (``stdnum/cn/loc.dat``, about
6,900 codes, :data:`DIVISION_CODES`). A code that existed at ANY time is accepted whatever
the birth year, because the code in a number is the household registration at issue time,
not the birth place, and people keep their number when a code is abolished (南汇区 310119)
or created after their birth (浦东新区 310115, 1992; 崇明区 310151, 2016). A code that never
existed under a real province is still ACCEPTED, with the warning ``ric_division_unknown``
naming the province: the table may lag behind new codes and we must not refuse a real
person service, but such a number deserves a look. Only an impossible province prefix is
rejected (``ric_division``).

Documented differences from python-stdnum 2.2 (found by experiment, pinned by
``tests/subjects/test_identifiers.py``). We use stdnum for the check characters
(``calc_check_digit``) and the birth date; where its ``validate``/``is_valid`` disagree
with the standards or with our decisions, our rules win:

USCC (``stdnum.cn.uscc``):

1. ``authority_letter`` — stdnum requires positions 1–8 to be digits, so it rejects the
   registration authorities A, N and Y that GB 32100 defines (e.g. ``N2…`` rural
   collectives, ``Y1…``). We accept them.
2. ``type_letter`` — for the same reason stdnum rejects a letter in position 2 (e.g.
   ``9A…``). We accept any alphabet character there.
3. ``authority_zero`` — stdnum accepts ``0`` in position 1, which is no registration
   authority. We reject it (``uscc_authority``).
4. Organisation-code check digit — stdnum does not check it at all (accepts); we accept
   too but warn (``uscc_org_check``). Not a difference in acceptance.

Resident ID (``stdnum.cn.ric``):

5. ``division_database`` — stdnum rejects a number whose division code was not in use in
   the birth year (its issue #442), e.g. Pudong (310115, created 1992) for anyone born
   before 1992 who registered there later, Chongming district 310151 (created 2016) for
   anyone born earlier, Hong Kong 810000 before 1997; and it rejects codes missing from
   its table. We accept the first kind without warning and the second with
   ``ric_division_unknown``.
6. ``stdnum_crash`` — for some unknown codes (e.g. ``110199…``) ``ric.is_valid`` raises
   ``KeyError`` instead of returning False. We never raise.
7. ``date_policy`` — stdnum accepts birth dates in the future and, for some codes
   (e.g. ``110000``, ``710000``), years before 1900. We reject both (``ric_date``).

Both:

8. ``stdnum_normalisation`` — stdnum's ``compact`` maps Unicode punctuation to ASCII
   (dashes, full stops…), strips everything ``str.isspace`` calls whitespace (including
   the ASCII separators U+001C–U+001F), upper-cases with full Unicode rules (``ﬀ`` →
   ``FF``) and, for USCC, deletes inner spaces and hyphens (``9111-0000…`` is valid to
   stdnum). We only strip the whitespace listed above and upper-case ASCII; anything
   else is a charset or length error, because a code with stray characters in it is a
   data quality problem the submitting department must see.
9. ``stdnum_newline`` — stdnum's digit test is ``re.match(r'^[0-9]+$')``, and ``$``
   also matches before a final newline: ``ric.is_valid('1101011990010100\\n4')`` is True,
   and ``uscc.is_valid('9111000\\n600037341L')`` raises ``ValueError``. We reject both
   (``ric_charset`` / ``uscc_charset``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import polars as pl
from stdnum import numdb
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_10

__all__ = [
    "DIVISION_CODES",
    "ERROR_MESSAGES",
    "PROVINCE_CODES",
    "STRIP_CHARS",
    "USCC_ALPHABET",
    "USCC_AUTHORITIES",
    "IdentifierCheck",
    "check_org_code",
    "check_registration_number",
    "check_resident_id",
    "check_uscc",
    "describe",
    "division_name",
    "normalize",
    "org_code_check_char",
    "province_name",
    "registration_number_check_char",
    "resident_id_check_char",
    "resident_id_checks",
    "uscc_check_char",
    "uscc_checks",
    "with_resident_id_checks",
    "with_uscc_checks",
]

# --------------------------------------------------------------------------- constants

#: Characters stripped from both ends. Deliberately explicit (not ``str.strip()``): Python's
#: and Polars' ideas of "whitespace" differ, and both validators must agree exactly.
STRIP_CHARS = " \t\n\r\x0b\x0c\u00a0\u3000\ufeff\u200b"

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
# Only ASCII letters are upper-cased: full Unicode case mapping can change the length of a
# string ("ß" -> "SS") and could turn a foreign letter into a valid code character.
_ASCII_UPPER = str.maketrans(_LOWER, _UPPER)

#: GB 32100 code alphabet; a character's index is its value in the check computation.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_CLASS = "[0-9A-HJ-NP-RTUW-Y]"  # the same alphabet as a regex class
_USCC_RE = re.compile(rf"{_USCC_CLASS}{{2}}[0-9]{{6}}{_USCC_CLASS}{{10}}")
#: Position 1: registration authority (1–9 departments, A 中央军委改革和编制办公室, N 农业, Y 其他).
USCC_AUTHORITIES = "123456789ANY"
# weights 3^(i-1) mod 31 for positions 1..17
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# GB 11714 organisation code: digits keep their value, letters A–Z are 10–35 (the full Latin
# alphabet, unlike the USCC alphabet), weights over its first 8 characters.
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_RIC_RE = re.compile(r"[0-9]{17}[0-9X]")
# GB 11714 organisation code, as printed on old certificates with or without its hyphen.
_ORG_RE = re.compile(r"([0-9A-Z]{8})-?([0-9X])")
# ISO 7064 MOD 11-2 weights 2^(18-i) mod 11 for positions 1..17
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RIC_CHECK_CHARS = "10X98765432"  # indexed by (sum mod 11)


def _division_table() -> tuple[dict[str, str], dict[str, str]]:
    """Province names and every 6-digit division code with its names, from python-stdnum.

    ``stdnum/cn/loc.dat`` (read through ``stdnum.numdb``) lists each GB/T 2260 code under its
    province with the years it was in use (``[1992-]浦东新区``; a reused code has several
    names). We keep every code that ever existed and drop the years: a person keeps the
    number issued under a code after the code is abolished or reused (module docstring).
    """
    provinces: dict[str, str] = {}
    divisions: dict[str, str] = {}
    for _, low, high, props, counties in numdb.get("cn/loc").prefixes:
        # loc.dat has no ranges; a "low-high" line would need expanding here
        assert low == high and len(low) == 2, (low, high)
        provinces[low] = props["province"]
        for _, c_low, c_high, c_props, _ in counties:
            assert c_low == c_high and len(c_low) == 4, (c_low, c_high)
            names = (re.sub(r"^\[[0-9-]*\]", "", n) for n in c_props["county"].split(","))
            divisions[low + c_low] = "/".join(dict.fromkeys(names))
    return provinces, divisions


_PROVINCE_NAMES, _DIVISION_NAMES = _division_table()

#: Province-level codes of GB/T 2260 (first two digits of a resident ID number).
PROVINCE_CODES: frozenset[str] = frozenset(_PROVINCE_NAMES)

#: Every 6-digit division code that ever existed (about 6,900, from python-stdnum's data).
#: A valid number whose code is not here is accepted with ``ric_division_unknown``.
DIVISION_CODES: frozenset[str] = frozenset(_DIVISION_NAMES)


def province_name(code: str) -> str | None:
    """The name of the province-level division whose code starts ``code``, or None."""
    return _PROVINCE_NAMES.get(code[:2])


def division_name(code: str) -> str | None:
    """The name(s) a 6-digit division code has had (``东郊区/东丽区``), or None."""
    return _DIVISION_NAMES.get(code[:6])


# The vectorized check looks a division up by its integer value in a 10⁶-entry table, like
# the check characters' byte tables: a gather is faster than hashing strings.
_DIVISION_FLAGS = pl.repeat(False, 1_000_000, dtype=pl.Boolean, eager=True).scatter(
    sorted(int(c) for c in DIVISION_CODES), True
)

# China has a single time zone without daylight saving since 1991; a fixed offset avoids a
# tzdata dependency. Birth dates on ID cards are Chinese calendar days, whatever TIME_ZONE
# the server runs in.
_CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

#: Every error and warning code with its Chinese message template (``str.format`` fields are
#: filled by :func:`describe` from the normalised value).
ERROR_MESSAGES: dict[str, str] = {
    "uscc_empty": "统一社会信用代码为空",
    "uscc_length": "统一社会信用代码应为 18 位，实为 {length} 位",
    "uscc_charset": "统一社会信用代码第 {position} 位字符“{char}”无效（{rule}）",
    "uscc_authority": "统一社会信用代码第 1 位登记管理部门代码“{char}”无效，应为 1–9、A、N 或 Y",
    "uscc_check": "统一社会信用代码校验位错误，应为 {expected}",
    "uscc_org_check": (
        "统一社会信用代码中组织机构代码（第 9–17 位）的校验码按 GB 11714 应为 {expected}，"
        "已接收，请核实"
    ),
    "ric_empty": "居民身份证号码为空",
    "ric_length": "居民身份证号码应为 18 位，实为 {length} 位",
    "ric_charset": "居民身份证号码第 {position} 位字符“{char}”无效（{rule}）",
    "ric_division": "居民身份证号码前两位“{province}”不是有效的省级行政区划代码",
    "ric_date": "居民身份证号码中的出生日期“{birth}”无效（{reason}）",
    "ric_check": "居民身份证号码校验位错误，应为 {expected}",
    "org_code_format": (
        "组织机构代码“{value}”格式无效，应为 8 位数字或大写字母加 1 位校验码（可写作 XXXXXXXX-X）"
    ),
    "org_code_check": "组织机构代码校验码错误，按 GB 11714 应为 {expected}",
    "reg_no_format": "注册号应为 15 位数字，实为“{value}”",
    "reg_no_check": "注册号校验位错误，按 ISO 7064 MOD 11,10 应为 {expected}",
    "ric_division_unknown": (
        "居民身份证号码的行政区划代码 {division} 在{province_name}（{province}）从未使用过，"
        "已接收，请核实"
    ),
}


# --------------------------------------------------------------------------- result type


@dataclass(frozen=True)
class IdentifierCheck:
    """The outcome of validating one identifier."""

    value: str  # normalised (stripped, ASCII upper-cased)
    error: str | None  # stable error code, None when valid
    message: str | None  # Chinese message naming the problem
    warnings: tuple[str, ...] = ()  # accepted but flagged

    @property
    def ok(self) -> bool:
        """True when the identifier is accepted (possibly with warnings)."""
        return self.error is None


# --------------------------------------------------------------------------- helpers


def normalize(value: str | None) -> str:
    """Strip surrounding whitespace (:data:`STRIP_CHARS`) and upper-case ASCII letters."""
    if value is None:
        return ""
    return str(value).strip(STRIP_CHARS).translate(_ASCII_UPPER)


def _show(char: str) -> str:
    # Control and other invisible characters would vanish from a message; name them instead.
    return char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


def _uscc_bad_position(value: str) -> tuple[int, str, str]:
    for i, char in enumerate(value):
        if 2 <= i <= 7:
            if char not in "0123456789":
                return i + 1, char, "第 3–8 位为行政区划代码，应为数字"
        elif char not in USCC_ALPHABET:
            return i + 1, char, "应为数字或除 I、O、Z、S、V 以外的大写字母"
    raise ValueError("no bad position")  # pragma: no cover - only called on charset errors


def _ric_bad_position(value: str) -> tuple[int, str, str]:
    for i, char in enumerate(value):
        if i < 17 and char not in "0123456789":
            return i + 1, char, "前 17 位应为数字"
        if i == 17 and char not in "0123456789X":
            return i + 1, char, "第 18 位应为数字或 X"
    raise ValueError("no bad position")  # pragma: no cover - only called on charset errors


def _org_check_char(org8: str) -> str:
    # GB 11714 check digit; stdnum has no module for the organisation code.
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(org8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _china_today() -> date:
    return datetime.now(_CHINA_TZ).date()


def _birth_date_problem(value: str, today: date) -> str | None:
    """Why positions 7–14 are not an acceptable birth date, or None."""
    try:
        birth = stdnum_ric.get_birth_date(value)
    except ValidationError:
        return "不是真实存在的日期"
    if birth.year < 1900:
        return "年份早于 1900 年"
    if birth > today:
        return "晚于当前日期"
    return None


def describe(code: str, value: str, today: date | None = None) -> str:
    """The Chinese message for ``code`` about the normalised ``value``.

    Works from the code and the value alone, so that rows rejected by the vectorized
    validators can get the same message as the single-value ones.
    """
    template = ERROR_MESSAGES[code]
    fields: dict[str, object] = {"length": len(value)}
    if code in ("uscc_charset", "ric_charset"):
        finder = _uscc_bad_position if code == "uscc_charset" else _ric_bad_position
        position, char, rule = finder(value)
        fields.update(position=position, char=_show(char), rule=rule)
    elif code == "uscc_authority":
        fields["char"] = _show(value[0])
    elif code == "uscc_check":
        fields["expected"] = uscc_check_char(value[:17])
    elif code == "uscc_org_check":
        fields["expected"] = _org_check_char(value[8:16])
    elif code == "ric_division":
        fields["province"] = value[:2]
    elif code == "ric_division_unknown":
        fields.update(
            division=value[:6], province=value[:2], province_name=province_name(value) or ""
        )
    elif code == "ric_date":
        fields["birth"] = value[6:14]
        fields["reason"] = _birth_date_problem(value, today or _china_today()) or "无效"
    elif code == "ric_check":
        fields["expected"] = resident_id_check_char(value[:17])
    elif code in ("org_code_format", "reg_no_format"):
        fields["value"] = "".join(_show(c) for c in value[:30])
    elif code == "org_code_check":
        fields["expected"] = org_code_check_char(value.replace("-", "")[:8])
    elif code == "reg_no_check":
        fields["expected"] = registration_number_check_char(value[:14])
    return template.format(**fields)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters.

    Raises ``ValueError`` when ``first17`` is not 17 characters of the code alphabet.
    """
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"not 17 USCC characters: {first17!r}")
    return stdnum_uscc.calc_check_digit(first17)


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``) for 17 digits.

    Raises ``ValueError`` when ``first17`` is not 17 ASCII digits.
    """
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError(f"not 17 digits: {first17!r}")
    # stdnum's function expects the whole number and ignores its last character
    return stdnum_ric.calc_check_digit(first17 + "0")


def org_code_check_char(first8: str) -> str:
    """The GB 11714 check character (``0``–``9`` or ``X``) of an organisation code's first 8
    characters (digits and capital letters)."""
    if not re.fullmatch(r"[0-9A-Z]{8}", first8):
        raise ValueError(f"not 8 organisation code characters: {first8!r}")
    return _org_check_char(first8)


def registration_number_check_char(first14: str) -> str:
    """The ISO 7064 MOD 11,10 check digit of a 15-digit registration number (注册号)."""
    if not re.fullmatch(r"[0-9]{14}", first14):
        raise ValueError(f"not 14 digits: {first14!r}")
    return mod_11_10.calc_check_digit(first14)


def _result(
    value: str, error: str | None, warnings: Iterable[str] = (), today: date | None = None
) -> IdentifierCheck:
    message = describe(error, value, today) if error else None
    return IdentifierCheck(value=value, error=error, message=message, warnings=tuple(warnings))


# --------------------------------------------------------------------------- single value


def check_uscc(value: str) -> IdentifierCheck:
    """Validate one unified social credit code (GB 32100-2015).

    Returns the normalised value, the first error code with its Chinese message, and any
    warnings (``uscc_org_check``). See the module docstring for the rules.
    """
    v = normalize(value)
    if not v:
        return _result(v, "uscc_empty")
    if len(v) != 18:
        return _result(v, "uscc_length")
    if not _USCC_RE.fullmatch(v):
        return _result(v, "uscc_charset")
    if v[0] not in USCC_AUTHORITIES:
        return _result(v, "uscc_authority")
    if v[17] != uscc_check_char(v[:17]):
        return _result(v, "uscc_check")
    warnings = []
    if v[16] != _org_check_char(v[8:16]):
        warnings.append("uscc_org_check")
    return _result(v, None, warnings)


def check_resident_id(value: str, today: date | None = None) -> IdentifierCheck:
    """Validate one 18-digit resident ID number (GB 11643).

    ``today`` (default: today in China) bounds the birth date. A valid number whose
    6-digit division code never existed (not in :data:`DIVISION_CODES`) is accepted with
    the warning ``ric_division_unknown``.
    """
    today = today or _china_today()
    v = normalize(value)
    if not v:
        return _result(v, "ric_empty")
    if len(v) != 18:
        return _result(v, "ric_length")
    if not _RIC_RE.fullmatch(v):
        return _result(v, "ric_charset")
    if v[:2] not in PROVINCE_CODES:
        return _result(v, "ric_division")
    if _birth_date_problem(v, today):
        return _result(v, "ric_date", today=today)
    if v[17] != resident_id_check_char(v[:17]):
        return _result(v, "ric_check")
    warnings = [] if v[:6] in DIVISION_CODES else ["ric_division_unknown"]
    return _result(v, None, warnings)


def check_org_code(value: str) -> IdentifierCheck:
    """Validate one GB 11714 organisation code (组织机构代码), written ``XXXXXXXX-X`` or
    without the hyphen. The accepted value is the 9 characters without the hyphen, as they
    appear at positions 9–17 of a unified social credit code. Errors: ``org_code_format``,
    ``org_code_check``.
    """
    v = normalize(value)
    match = _ORG_RE.fullmatch(v)
    if not match:
        return _result(v, "org_code_format")
    body, check = match.groups()
    if check != _org_check_char(body):
        return _result(v, "org_code_check")
    return _result(body + check, None)


def check_registration_number(value: str) -> IdentifierCheck:
    """Validate one 15-digit registration number (工商注册号, GB/T 18530 era, 2007–2015):
    14 digits and an ISO 7064 MOD 11,10 check digit. Errors: ``reg_no_format``,
    ``reg_no_check``.
    """
    v = normalize(value)
    if not re.fullmatch(r"[0-9]{15}", v):
        return _result(v, "reg_no_format")
    if not mod_11_10.is_valid(v):
        return _result(v, "reg_no_check")
    return _result(v, None)


# --------------------------------------------------------------------------- vectorized


def _normalize_expr(expr: pl.Expr) -> pl.Expr:
    # replace_many with 26 single-letter patterns is the ASCII-only upper-case that matches
    # normalize(); str.to_uppercase() would apply full Unicode rules.
    return (
        expr.cast(pl.String)
        .str.strip_chars(STRIP_CHARS)
        .str.replace_many(list(_LOWER), list(_UPPER))
    )


def _byte_table(alphabet: str) -> pl.Series:
    """A 256-entry lookup table: ASCII byte -> index of that character in ``alphabet``.

    Bytes outside the alphabet map to 0; rows containing them have already failed the
    charset check, so that value is never decisive.
    """
    table = [0] * 256
    for index, char in enumerate(alphabet):
        table[ord(char)] = index
    return pl.Series(table, dtype=pl.Int32)


_USCC_VALUES = _byte_table(USCC_ALPHABET)
_ORG_VALUES = _byte_table(_ORG_ALPHABET)
_DIGIT_VALUES = _byte_table("0123456789")


def _weighted_sum(
    raw: pl.Expr, positions: range, weights: tuple[int, ...], table: pl.Series
) -> pl.Expr:
    """Σ value(char at position) · weight, over ``positions`` of the binary column ``raw``.

    Slicing bytes (``bin.get``) and mapping them through a lookup table (``gather``) is
    about five times faster than ``str.slice`` + ``replace_strict`` (0.11 s vs 0.56 s for
    18 positions of 10⁶ codes). It is exact because only rows that passed the length and
    ASCII-only charset checks use the result, and for those byte i is character i.
    """
    return pl.sum_horizontal(
        pl.lit(table).gather(raw.bin.get(p, null_on_oob=True)) * w
        for p, w in zip(positions, weights, strict=True)
    )


def _first(conditions: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The code of the first true condition, else null (a when/then chain)."""
    chain = pl.when(conditions[0][0]).then(pl.lit(conditions[0][1]))
    for cond, code in conditions[1:]:
        chain = chain.when(cond).then(pl.lit(code))
    return chain.otherwise(pl.lit(None, dtype=pl.String))


# Intermediate columns live under this prefix and are dropped at the end.
_TMP = "__identifier_check_"


def with_uscc_checks(frame: pl.LazyFrame, column: str, prefix: str = "") -> pl.LazyFrame:
    """Add ``{prefix}value``, ``{prefix}error``, ``{prefix}warning`` validating ``column``.

    For use inside a larger lazy query (ingest); :func:`uscc_checks` wraps it. The work
    is staged in successive ``with_columns`` so that the normalised value and the
    per-position values are computed once, not once per expression that uses them.
    """
    value, v = f"{prefix}value", pl.col(f"{prefix}value")
    total, org, org_char = f"{_TMP}total", f"{_TMP}org", f"{_TMP}org_char"
    frame = frame.with_columns(_normalize_expr(pl.col(column)).alias(value))
    raw = v.cast(pl.Binary)
    frame = frame.with_columns(
        # Σ value·weight over positions 1–17 plus the check char's value (weight 1): a
        # valid code has check = (31 − Σ mod 31) mod 31, i.e. the full sum ≡ 0 (mod 31).
        _weighted_sum(raw, range(18), (*_USCC_WEIGHTS, 1), _USCC_VALUES).alias(total),
        # GB 11714 over positions 9–16, with Latin-alphabet letter values
        _weighted_sum(raw, range(8, 16), _ORG_WEIGHTS, _ORG_VALUES).alias(org),
        _weighted_sum(raw, range(16, 17), (1,), _ORG_VALUES).alias(org_char),
    )
    # C = 11 − (Σ mod 11), 10 -> X (value 33 in the Latin alphabet), 11 -> 0
    org_c = 11 - pl.col(org) % 11
    org_expected = pl.when(org_c == 10).then(33).when(org_c == 11).then(0).otherwise(org_c)
    error = _first(
        [
            (v.is_null() | (v == ""), "uscc_empty"),
            (v.str.len_chars() != 18, "uscc_length"),
            (~v.str.contains(f"^{_USCC_RE.pattern}$"), "uscc_charset"),
            (~v.str.slice(0, 1).is_in(list(USCC_AUTHORITIES)), "uscc_authority"),
            (pl.col(total) % 31 != 0, "uscc_check"),
        ]
    )
    frame = frame.with_columns(error.alias(f"{prefix}error"))
    warning = (
        pl.when(pl.col(f"{prefix}error").is_null() & (pl.col(org_char) != org_expected))
        .then(pl.lit("uscc_org_check"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    frame = frame.with_columns(warning.alias(f"{prefix}warning"))
    return frame.drop(total, org, org_char)


def with_resident_id_checks(
    frame: pl.LazyFrame, column: str, today: date | None = None, prefix: str = ""
) -> pl.LazyFrame:
    """Add ``{prefix}value``, ``{prefix}error``, ``{prefix}warning`` validating ``column``.

    For use inside a larger lazy query (ingest); :func:`resident_id_checks` wraps it.
    """
    today = today or _china_today()
    value, v = f"{prefix}value", pl.col(f"{prefix}value")
    total, birth = f"{_TMP}total", f"{_TMP}birth"
    frame = frame.with_columns(_normalize_expr(pl.col(column)).alias(value))
    frame = frame.with_columns(
        # MOD 11-2: the check char is _RIC_CHECK_CHARS[Σ mod 11]
        _weighted_sum(v.cast(pl.Binary), range(17), _RIC_WEIGHTS, _DIGIT_VALUES).alias(total),
        # Birth date as the integer YYYYMMDD, checked by arithmetic rather than parsed:
        # exact control over what a real date is (Gregorian leap years), and faster.
        v.str.slice(6, 8).cast(pl.Int32, strict=False).alias(birth),
    )
    year, month, day = pl.col(birth) // 10000, pl.col(birth) // 100 % 100, pl.col(birth) % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    date_ok = (
        (year >= 1900)
        & month.is_between(1, 12)
        & day.is_between(1, month_days)
        & (pl.col(birth) <= today.year * 10000 + today.month * 100 + today.day)
    )
    expected = (pl.col(total) % 11).replace_strict(
        list(range(11)), list(_RIC_CHECK_CHARS), return_dtype=pl.String
    )
    error = _first(
        [
            (v.is_null() | (v == ""), "ric_empty"),
            (v.str.len_chars() != 18, "ric_length"),
            (~v.str.contains(f"^{_RIC_RE.pattern}$"), "ric_charset"),
            (~v.str.slice(0, 2).is_in(sorted(PROVINCE_CODES)), "ric_division"),
            (~date_ok, "ric_date"),
            (v.str.slice(17, 1) != expected, "ric_check"),
        ]
    )
    frame = frame.with_columns(error.alias(f"{prefix}error"))
    # Only valid numbers are looked up, so the index is six digits: 0 ≤ index < 10⁶.
    division = pl.when(pl.col(f"{prefix}error").is_null()).then(
        v.str.slice(0, 6).cast(pl.Int32, strict=False)
    )
    warning = (
        pl.when(~pl.lit(_DIVISION_FLAGS).gather(division))
        .then(pl.lit("ric_division_unknown"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    frame = frame.with_columns(warning.alias(f"{prefix}warning"))
    return frame.drop(total, birth)


def uscc_checks(values: pl.Series) -> pl.DataFrame:
    """Validate a series of unified social credit codes, vectorized.

    Returns one row per input with ``value`` (normalised; null for null input), ``error``
    (first error code or null) and ``warning`` (first warning code or null). Same rules
    and answers as :func:`check_uscc`.
    """
    frame = values.to_frame("raw").lazy()
    return with_uscc_checks(frame, "raw").drop("raw").collect()


def resident_id_checks(values: pl.Series, today: date | None = None) -> pl.DataFrame:
    """Validate a series of resident ID numbers, vectorized.

    Columns as for :func:`uscc_checks`; same rules and answers as
    :func:`check_resident_id`.
    """
    frame = values.to_frame("raw").lazy()
    return with_resident_id_checks(frame, "raw", today).drop("raw").collect()
