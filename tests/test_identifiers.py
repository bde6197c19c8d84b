"""Identifier validation: examples, every error code, vectorized == single-value, vs stdnum.

The property tests use an independent oracle where it matters (the GB 11714 organisation
code check is re-implemented here) and pin every documented difference from python-stdnum:
if stdnum changes behaviour, ``test_documented_difference_*`` fails and the module
docstring of ``creditplus.identifiers`` must be updated.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_10 as stdnum_mod_11_10

from creditplus.identifiers import (
    DIVISION_CODES,
    ERROR_MESSAGES,
    PROVINCE_CODES,
    USCC_ALPHABET,
    USCC_AUTHORITIES,
    IdentifierCheck,
    check_org_code,
    check_registration_number,
    check_resident_id,
    check_uscc,
    describe,
    division_name,
    normalize,
    org_code_check_char,
    province_name,
    registration_number_check_char,
    resident_id_check_char,
    resident_id_checks,
    uscc_check_char,
    uscc_checks,
    with_resident_id_checks,
    with_uscc_checks,
)

TODAY = date(2025, 6, 30)

VALID_USCC = [
    "91110000600037341L",
    "121200004013590816",
    "91310115MA1K3BTP2B",
    "9144030071526726XG",
    "92340602MA2PBMEM24",
]
VALID_RIC = ["360426199101010071", "44011320141005001X"]


def with_check_uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def with_check_ric(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def org_check_char(org8: str) -> str:
    """GB 11714 check digit, written independently of the module (test oracle)."""
    values = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
    total = sum(values[c] * w for c, w in zip(org8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def vector_rows(check: IdentifierCheck) -> dict[str, str | None]:
    """A single-value result as the row the vectorized validator should produce."""
    return {
        "value": check.value,
        "error": check.error,
        "warning": check.warnings[0] if check.warnings else None,
    }


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("code", VALID_USCC)
def test_valid_uscc_examples(code):
    result = check_uscc(code)
    assert result.ok and result.error is None and result.message is None
    assert result.value == code
    assert result.warnings == ()  # their organisation codes satisfy GB 11714 too


def test_invalid_uscc_check_character_names_the_expected_one():
    result = check_uscc("91110000600037341N")
    assert not result.ok
    assert result.error == "uscc_check"
    assert result.message == "统一社会信用代码校验位错误，应为 L"


# python-stdnum's valid resident-ID vectors (tests/test_cn_ric.doctest): ordinary IDs from
# all over China, including a code reused with another name (120110 东郊区 → 东丽区, 1992).
STDNUM_VALID_RIC = [
    "360426199101010071",  # 江西德安
    "44011320141005001X",  # 广东番禺
    "412723199010050012",  # 河南商水
    "110102199101010078",  # 北京西城
    "120110198012010073",  # 天津东郊区, before 1991
    "120110199212010072",  # 天津东丽区, after 1991
]


def test_stdnum_valid_resident_id_vectors_pass_without_warning():
    for number in STDNUM_VALID_RIC:
        assert stdnum_ric.is_valid(number), number  # still stdnum's own vectors
        result = check_resident_id(number, today=TODAY)
        assert (result.error, result.warnings) == (None, ()), number
    vector = resident_id_checks(pl.Series(STDNUM_VALID_RIC), today=TODAY)
    assert vector["error"].to_list() == [None] * len(STDNUM_VALID_RIC)
    assert vector["warning"].to_list() == [None] * len(STDNUM_VALID_RIC)


@pytest.mark.parametrize(
    ("number", "error", "fragment"),
    [
        ("36042619910102009X", "ric_check", "应为 3"),
        ("360426199113010079", "ric_date", "19911301"),
    ],
)
def test_invalid_resident_id_examples(number, error, fragment):
    result = check_resident_id(number, today=TODAY)
    assert result.error == error
    assert fragment in result.message


def test_lower_case_x_and_surrounding_whitespace_are_normalised():
    result = check_resident_id(" 44011320141005001x\u3000", today=TODAY)
    assert result.ok and result.value == "44011320141005001X"
    assert check_uscc("\ufeff9144030071526726xg\n").value == "9144030071526726XG"
    frame = resident_id_checks(pl.Series(["44011320141005001x"]), today=TODAY)
    assert frame.row(0) == ("44011320141005001X", None, None)


def test_inner_separators_are_not_fixed():
    assert check_uscc("9111-0000-600037341L").error == "uscc_length"
    assert check_uscc("91110000 600037341L").error == "uscc_length"
    assert check_resident_id("３６0426199101010071", today=TODAY).error == "ric_charset"


# --------------------------------------------------------------------------- every code

USCC_CASES = [
    ("", "uscc_empty"),
    ("   ", "uscc_empty"),
    ("9111000060003734", "uscc_length"),
    ("91110000600037341LL", "uscc_length"),
    ("91110000600O37341L", "uscc_charset"),  # letter O excluded
    ("9111000060003734IL", "uscc_charset"),
    ("911A0000600037341L", "uscc_charset"),  # division must be digits
    ("9111000060003734-L", "uscc_charset"),
    ("01110000600037341L", "uscc_authority"),
    ("B1110000600037341L", "uscc_authority"),
    ("91110000600037341N", "uscc_check"),
]


@pytest.mark.parametrize(("value", "error"), USCC_CASES)
def test_uscc_error_codes(value, error):
    single = check_uscc(value)
    assert single.error == error
    assert single.message and single.message.startswith("统一社会信用代码")
    assert uscc_checks(pl.Series([value])).row(0, named=True) == vector_rows(single)


def test_uscc_charset_message_names_position_and_character():
    assert check_uscc("911A0000600037341L").message == (
        "统一社会信用代码第 4 位字符“A”无效（第 3–8 位为行政区划代码，应为数字）"
    )
    assert "U+0000" in check_uscc("9111000060003734\x00L").message


def test_uscc_letters_in_positions_1_and_2_are_accepted():
    for head in ("N1", "N2", "N3", "A1", "Y1", "9A", "5Y", "NA"):
        code = with_check_uscc(f"{head}310115MA1K3BTP2")
        assert check_uscc(code).ok, code
        assert uscc_checks(pl.Series([code]))["error"][0] is None


def test_uscc_org_code_mismatch_is_only_a_warning():
    org8 = "MA1K3BTP"
    assert org_check_char(org8) == "2"
    code = with_check_uscc(f"91310115{org8}7")
    result = check_uscc(code)
    assert result.ok
    assert result.warnings == ("uscc_org_check",)
    assert describe("uscc_org_check", code).startswith(
        "统一社会信用代码中组织机构代码（第 9–17 位）的校验码按 GB 11714 应为 2"
    )
    assert uscc_checks(pl.Series([code])).row(0) == (code, None, "uscc_org_check")


def test_uscc_no_warning_on_rejected_code():
    code = "91310115MA1K3BTP7" + "0"  # org mismatch and wrong check char
    assert check_uscc(code).error == "uscc_check"
    assert check_uscc(code).warnings == ()
    assert uscc_checks(pl.Series([code]))["warning"][0] is None


RIC_CASES = [
    ("", "ric_empty"),
    ("36042619910101007", "ric_length"),
    ("3604261991010100711", "ric_length"),
    ("36042619910101007A", "ric_charset"),
    ("3604261991010100X1", "ric_charset"),
    ("36042619910101 071", "ric_charset"),
    (with_check_ric("99042619910101007"), "ric_division"),
    (with_check_ric("83000019910101007"), "ric_division"),  # not a GB/T 2260 province
    ("360426199113010079", "ric_date"),
    (with_check_ric("36042619910230007"), "ric_date"),  # 30 February
    (with_check_ric("36042618991231007"), "ric_date"),  # before 1900
    (with_check_ric("36042620250701007"), "ric_date"),  # after TODAY
    ("36042619910102009X", "ric_check"),
]


@pytest.mark.parametrize(("value", "error"), RIC_CASES)
def test_resident_id_error_codes(value, error):
    single = check_resident_id(value, today=TODAY)
    assert single.error == error
    assert single.message and single.message.startswith("居民身份证号码")
    vector = resident_id_checks(pl.Series([value]), today=TODAY)
    assert vector.row(0, named=True) == vector_rows(single)


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        ("19000101", True),
        ("18991231", False),
        ("20000229", True),  # divisible by 400: leap
        ("19000229", False),  # divisible by 100: not leap
        ("20240229", True),
        ("20230229", False),
        ("19910431", False),
        ("19911231", True),
        ("19910001", False),
        ("19910100", False),
        ("20250630", True),  # born today
        ("20250701", False),  # tomorrow
    ],
)
def test_resident_id_birth_dates(birth, ok):
    number = with_check_ric(f"310115{birth}123")
    assert check_resident_id(number, today=TODAY).ok is ok
    vector = resident_id_checks(pl.Series([number]), today=TODAY)
    assert (vector["error"][0] is None) is ok


def test_resident_id_date_reasons():
    def message(birth: str) -> str:
        return check_resident_id(with_check_ric(f"310115{birth}123"), today=TODAY).message

    assert "不是真实存在的日期" in message("19910230")
    assert "早于 1900" in message("18991231")
    assert "晚于当前日期" in message("20300101")


def test_resident_id_default_today_is_china_today():
    tomorrow = date.today() + timedelta(days=2)
    number = with_check_ric(f"310115{tomorrow:%Y%m%d}123")
    assert check_resident_id(number).error == "ric_date"
    assert resident_id_checks(pl.Series([number]))["error"][0] == "ric_date"


@pytest.mark.parametrize(
    ("division", "birth", "warning"),
    [
        ("310115", "19800101", None),  # 浦东新区 (1992-), person born before it existed
        ("310151", "19900101", None),  # 崇明区 (2016-)
        ("310230", "19900101", None),  # 崇明县 (1982–2016)
        ("310119", "19900101", None),  # 南汇区 (2001–2009), abolished
        ("310000", "19900101", None),
        ("810000", "19900101", None),  # Hong Kong (1997-)
        ("710000", "19900101", None),
        ("110105", "19900101", None),  # 北京朝阳, not in the old bundled table
        ("650000", "19900101", None),
        ("310199", "19900101", "ric_division_unknown"),  # 上海 exists, 310199 never did
        ("110199", "19900101", "ric_division_unknown"),  # the code stdnum crashes on
        ("449999", "19900101", "ric_division_unknown"),
    ],
)
def test_resident_id_division_codes_that_ever_existed_pass(division, birth, warning):
    number = with_check_ric(f"{division}{birth}123")
    result = check_resident_id(number, today=TODAY)
    assert result.ok
    assert result.warnings == ((warning,) if warning else ())
    assert resident_id_checks(pl.Series([number]), today=TODAY)["warning"][0] == warning


def test_unknown_division_message_names_the_province():
    number = with_check_ric("31019919900101123")
    assert describe("ric_division_unknown", number) == (
        "居民身份证号码的行政区划代码 310199 在上海市（31）从未使用过，已接收，请核实"
    )
    assert "广东省（44）" in describe("ric_division_unknown", with_check_ric("44999919900101123"))


def test_impossible_province_is_still_refused():
    result = check_resident_id("990426199112010074", today=TODAY)
    assert result.error == "ric_division"
    assert result.message == "居民身份证号码前两位“99”不是有效的省级行政区划代码"
    vector = resident_id_checks(pl.Series(["990426199112010074"]), today=TODAY)
    assert vector.row(0) == ("990426199112010074", "ric_division", None)


def test_division_tables_come_from_stdnum():
    assert len(PROVINCE_CODES) == 34
    assert {f"{p}0000" for p in PROVINCE_CODES} <= DIVISION_CODES
    assert len(DIVISION_CODES) > 6000
    assert {"310115", "310119", "120110", "440113", "412723", "820000"} <= DIVISION_CODES
    assert province_name("310115") == "上海市"
    assert division_name("310115") == "浦东新区"
    assert division_name("120110") == "东郊区/东丽区"
    assert division_name("310199") is None


def test_nulls_and_non_string_series():
    frame = uscc_checks(pl.Series([None, "91110000600037341L"]))
    assert frame.rows() == [(None, "uscc_empty", None), ("91110000600037341L", None, None)]
    assert resident_id_checks(pl.Series([None, None]))["error"].to_list() == ["ric_empty"] * 2
    assert check_uscc(None).error == "uscc_empty"  # type: ignore[arg-type]
    assert frame.schema == pl.Schema({"value": pl.String, "error": pl.String, "warning": pl.String})
    assert uscc_checks(pl.Series([], dtype=pl.String)).height == 0


def test_lazy_helpers_add_prefixed_columns():
    frame = pl.LazyFrame({"row": [1, 2], "code": ["91110000600037341L", "x"], "id": VALID_RIC})
    frame = with_uscc_checks(frame, "code", prefix="code_")
    frame = with_resident_id_checks(frame, "id", today=TODAY, prefix="id_")
    result = frame.collect()
    assert result.columns == [
        "row", "code", "id", "code_value", "code_error", "code_warning",
        "id_value", "id_error", "id_warning",
    ]  # fmt: skip
    assert result["code_error"].to_list() == [None, "uscc_length"]
    assert result["id_warning"].to_list() == [None, None]


def test_check_char_helpers():
    assert uscc_check_char("91110000600037341") == "L"
    assert resident_id_check_char("44011320141005001") == "X"
    for bad in ("9111000060003734", "9111000060003734I", "91110000600037341L"):
        with pytest.raises(ValueError):
            uscc_check_char(bad)
    for bad in ("4401132014100500", "4401132014100500X", "４4011320141005001"):
        with pytest.raises(ValueError):
            resident_id_check_char(bad)


def test_every_code_has_a_chinese_message():
    samples = dict(USCC_CASES) | {v: e for v, e in RIC_CASES}
    samples |= {v: e for v, e in ORG_CODE_CASES + REG_NO_CASES if e and v}
    codes = set(samples.values()) | {"uscc_org_check", "ric_division_unknown"}
    assert codes == set(ERROR_MESSAGES)
    for value, code in samples.items():
        text = describe(code, normalize(value), TODAY)
        assert "{" not in text and any("\u4e00" <= c <= "\u9fff" for c in text)


# --------------------------------------------------------------------------- old identifiers

# The organisation code embedded in 91310115MA1K3BTP2B and 91110000600037341L.
ORG_CODE_CASES = [
    ("MA1K3BTP-2", None),
    ("MA1K3BTP2", None),
    (" ma1k3btp-2 ", None),
    ("60003734-1", None),
    ("71526726-X", None),  # from 9144030071526726XG: check character X
    ("MA1K3BTP-3", "org_code_check"),
    ("600037342", "org_code_check"),
    ("MA1K3BTP", "org_code_format"),
    ("MA1K3BTP--2", "org_code_format"),
    ("MA1K3BTP-A", "org_code_format"),  # the check character is a digit or X
    ("", "org_code_format"),
]


@pytest.mark.parametrize(("value", "error"), ORG_CODE_CASES)
def test_organisation_code_with_or_without_hyphen(value, error):
    result = check_org_code(value)
    assert result.error == error
    if error is None:
        assert "-" not in result.value and len(result.value) == 9
        assert result.value[8] == org_check_char(result.value[:8])  # the test's own oracle
    else:
        assert result.message.startswith("组织机构代码")


def test_organisation_code_is_the_one_inside_the_uscc():
    for uscc in VALID_USCC:
        assert check_org_code(uscc[8:17]).ok, uscc
    assert org_code_check_char("MA1K3BTP") == "2"
    assert check_org_code("MA1K3BTP-3").message == "组织机构代码校验码错误，按 GB 11714 应为 2"


REG_NO_CASES = [
    ("310115000123456", None),
    ("110108000000016", None),
    ("310115000123450", "reg_no_check"),
    ("31011500012345", "reg_no_format"),
    ("3101150001234567", "reg_no_format"),
    ("31011500012345X", "reg_no_format"),
    ("", "reg_no_format"),
]


@pytest.mark.parametrize(("value", "error"), REG_NO_CASES)
def test_registration_number_iso7064_mod_11_10(value, error):
    result = check_registration_number(value)
    assert result.error == error
    assert stdnum_mod_11_10.is_valid(value) is (error is None)  # stdnum agrees
    if error:
        assert result.message.startswith("注册号")


def test_registration_number_message_names_the_check_digit():
    assert registration_number_check_char("31011500012345") == "6"
    assert check_registration_number("310115000123450").message == (
        "注册号校验位错误，按 ISO 7064 MOD 11,10 应为 6"
    )


# --------------------------------------------------------------------------- strategies

ODD_CHARS = "IOZSVioszv xX-.\t\n\x00\x1c\u00a0\u3000\ufeff\u200b\uff10\uff21ßﬀ中"
near_chars = st.sampled_from(USCC_ALPHABET + USCC_ALPHABET.lower() + ODD_CHARS)
# Values arrive decoded from UTF-8 files and JSON, which cannot hold lone surrogates.
any_char = st.characters(exclude_categories=("Cs",))


@st.composite
def valid_usccs(draw) -> str:
    """Codes the standard allows: any authority incl. A/N/Y, any type char, and an org
    code whose own check digit is usually right (sometimes deliberately wrong)."""
    head = draw(st.sampled_from(USCC_AUTHORITIES)) + draw(st.sampled_from(USCC_ALPHABET))
    division = draw(st.text("0123456789", min_size=6, max_size=6))
    org8 = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    org9 = draw(st.one_of(st.just(org_check_char(org8)), st.sampled_from(USCC_ALPHABET)))
    return with_check_uscc(head + division + org8 + org9)


@st.composite
def valid_resident_ids(draw) -> str:
    """Numbers with a valid structure; division known, unknown or impossible; any date."""
    division = draw(
        st.one_of(
            st.sampled_from(sorted(DIVISION_CODES)),
            st.sampled_from(["360426", "440113", "110105", "110199", "820000", "830000"]),
            st.builds(
                lambda p, rest: p + rest,
                st.sampled_from(sorted(PROVINCE_CODES)),
                st.text("0123456789", min_size=4, max_size=4),
            ),
            st.text("0123456789", min_size=6, max_size=6),
        )
    )
    birth = draw(
        st.one_of(
            st.dates(date(1900, 1, 1), TODAY).map(lambda d: d.strftime("%Y%m%d")),
            st.dates(date(1800, 1, 1), date(2200, 12, 31)).map(lambda d: f"{d:%Y%m%d}"),
            st.text("0123456789", min_size=8, max_size=8),
        )
    )
    sequence = draw(st.text("0123456789", min_size=3, max_size=3))
    number = with_check_ric(division + birth + sequence)
    if draw(st.booleans()):
        number = number.lower()  # x
    return number


@st.composite
def mutated(draw, base: st.SearchStrategy[str]) -> str:
    """A valid code with one character replaced, inserted, deleted, or padding added."""
    code = draw(base)
    position = draw(st.integers(0, len(code) - 1))
    char = draw(st.one_of(near_chars, any_char))
    op = draw(st.sampled_from(["replace", "insert", "delete", "pad", "swap"]))
    if op == "replace":
        return code[:position] + char + code[position + 1 :]
    if op == "insert":
        return code[:position] + char + code[position:]
    if op == "delete":
        return code[:position] + code[position + 1 :]
    if op == "swap" and position < len(code) - 1:
        return code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    return char + code + char


arbitrary = st.one_of(
    st.text(any_char),
    st.text(near_chars, min_size=18, max_size=18),
    st.text(st.sampled_from("0123456789Xx \n"), min_size=17, max_size=19),
)
uscc_inputs = st.one_of(arbitrary, valid_usccs(), mutated(valid_usccs()))
ric_inputs = st.one_of(arbitrary, valid_resident_ids(), mutated(valid_resident_ids()))
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- vectorized == single


@PROPERTY
@given(st.lists(uscc_inputs, min_size=1, max_size=40))
def test_vectorized_uscc_agrees_with_single_value(values):
    vector = uscc_checks(pl.Series(values, dtype=pl.String)).rows(named=True)
    assert vector == [vector_rows(check_uscc(v)) for v in values]


@PROPERTY
@given(st.lists(ric_inputs, min_size=1, max_size=40))
def test_vectorized_resident_id_agrees_with_single_value(values):
    vector = resident_id_checks(pl.Series(values, dtype=pl.String), today=TODAY)
    assert vector.rows(named=True) == [
        vector_rows(check_resident_id(v, today=TODAY)) for v in values
    ]


@PROPERTY
@given(valid_usccs())
def test_generated_usccs_are_valid(code):
    result = check_uscc(code)
    assert result.ok
    assert ("uscc_org_check" in result.warnings) == (code[16] != org_check_char(code[8:16]))


@PROPERTY
@given(valid_usccs(), st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_any_single_substitution_is_caught(code, position, char):
    # The GB 32100 check detects every single-character substitution within the alphabet
    # (31 is prime, weights are non-zero mod 31); other checks may fire first.
    changed = code[:position] + char + code[position + 1 :]
    if changed != code:
        assert not check_uscc(changed).ok


# --------------------------------------------------------------------------- vs python-stdnum


def stdnum_answer(module, value: str) -> bool | str:
    """stdnum's is_valid, or the name of the exception it (wrongly) lets escape."""
    try:
        return module.is_valid(value)
    except Exception as exc:  # stdnum_crash / stdnum_newline: is_valid should never raise
        return type(exc).__name__


def uscc_documented_difference(raw: str, ours: IdentifierCheck, theirs: bool | str) -> str:
    """The documented difference that explains a disagreement, or "" when none does."""
    value = normalize(raw)
    if stdnum_uscc.compact(raw) != value:
        return "stdnum_normalisation"
    if "\n" in value[:8] and ours.error == "uscc_charset":
        return "stdnum_newline"
    if ours.ok and theirs is False and value[0] in "ANY":
        return "authority_letter"
    if ours.ok and theirs is False and not value[1].isdigit():
        return "type_letter"
    if ours.error == "uscc_authority" and theirs is True and value[0] == "0":
        return "authority_zero"
    return ""


def ric_documented_difference(raw: str, ours: IdentifierCheck, theirs: bool | str) -> str:
    """The documented difference that explains a disagreement, or "" when none does."""
    value = normalize(raw)
    if stdnum_ric.compact(raw) != value:
        return "stdnum_normalisation"
    if theirs == "KeyError":
        return "stdnum_crash"
    if ours.error == "ric_charset" and theirs is True and value[16] == "\n":
        return "stdnum_newline"
    if ours.ok and theirs is False:
        try:
            stdnum_ric.get_birth_place(value)
        except ValidationError:
            return "division_database"
    if ours.error == "ric_date" and theirs is True:
        birth = stdnum_ric.get_birth_date(value)
        if birth.year < 1900 or birth > date.today():
            return "date_policy"
    return ""


@PROPERTY
@given(uscc_inputs)
def test_uscc_agrees_with_stdnum_except_documented_differences(raw):
    ours = check_uscc(raw)
    theirs = stdnum_answer(stdnum_uscc, raw)
    if ours.ok is not theirs:
        difference = uscc_documented_difference(raw, ours, theirs)
        assert difference, f"undocumented difference: {raw!r} ours={ours} stdnum={theirs}"
        event(difference)


@PROPERTY
@given(ric_inputs)
def test_resident_id_agrees_with_stdnum_except_documented_differences(raw):
    ours = check_resident_id(raw)
    theirs = stdnum_answer(stdnum_ric, raw)
    if ours.ok is not theirs:
        difference = ric_documented_difference(raw, ours, theirs)
        assert difference, f"undocumented difference: {raw!r} ours={ours} stdnum={theirs}"
        event(difference)


# Each documented difference, pinned with a concrete number (see the module docstring).


@pytest.mark.parametrize(
    ("name", "code", "ours_ok", "stdnum_ok"),
    [
        ("authority_letter", with_check_uscc("N2310115MA1K3BTP2"), True, False),
        ("authority_letter", with_check_uscc("Y1310115MA1K3BTP2"), True, False),
        ("authority_letter", with_check_uscc("A1310115MA1K3BTP2"), True, False),
        ("type_letter", with_check_uscc("9A310115MA1K3BTP2"), True, False),
        ("authority_zero", with_check_uscc("01310115MA1K3BTP2"), False, True),
        ("stdnum_normalisation", "9111-0000 600037341L", False, True),
        ("stdnum_normalisation", "\x1c91110000600037341L", False, True),
        ("org_check_not_a_difference", with_check_uscc("91310115MA1K3BTP7"), True, True),
    ],
)
def test_documented_difference_uscc(name, code, ours_ok, stdnum_ok):
    assert check_uscc(code).ok is ours_ok
    assert stdnum_uscc.is_valid(code) is stdnum_ok
    difference = uscc_documented_difference(code, check_uscc(code), stdnum_ok)
    assert difference == ("" if name == "org_check_not_a_difference" else name)


def test_documented_difference_uscc_newline_crashes_stdnum():
    code = "9111000\n600037341L"
    assert check_uscc(code).error == "uscc_charset"
    assert stdnum_answer(stdnum_uscc, code) == "ValueError"


@pytest.mark.parametrize(
    ("name", "number", "ours_ok", "stdnum_ok"),
    [
        ("division_database", with_check_ric("31011519900101001"), True, False),  # Pudong
        ("division_database", with_check_ric("31015119900101001"), True, False),  # Chongming
        ("division_database", with_check_ric("81000019900101001"), True, False),  # Hong Kong
        ("division_database", with_check_ric("82000019900101001"), True, False),  # Macao
        ("stdnum_crash", with_check_ric("11019919900101001"), True, "KeyError"),
        ("date_policy", with_check_ric("36042620900101001"), False, True),  # future
        ("date_policy", with_check_ric("11000018000101001"), False, True),  # 1800
        ("date_policy", with_check_ric("71000018990101001"), False, True),
        ("stdnum_normalisation", "\x1c360426199101010071", False, True),
        ("stdnum_newline", "1101011990010100\n4", False, True),
    ],
)
def test_documented_difference_resident_id(name, number, ours_ok, stdnum_ok):
    ours = check_resident_id(number)
    assert ours.ok is ours_ok
    assert stdnum_answer(stdnum_ric, number) == stdnum_ok
    assert ric_documented_difference(number, ours, stdnum_ok) == name
