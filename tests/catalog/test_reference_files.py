"""Consistency of the reference-data YAML files (docs/reference-data.md).

Reads the files with PyYAML only — no database, no models — and checks that the data
catalog, the code tables, the behavior list, the application list and the working-day
calendar agree with each other and with the rules of STANDARDS.md §2.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "creditplus" / "reference_data"
CATALOG_DIR = DATA / "catalog"

ITEM_KEYS = {
    "version",
    "code",
    "name",
    "category",
    "description",
    "providers",
    "subject_kinds",
    "disclosure",
    "publicity",
    "subject",
    "natural_key",
    "decision_date",
    "fields",
}
CATEGORIES = {  # top categories of the national basic catalog (STANDARDS.md §3)
    "登记注册基本信息",
    "司法裁判及执行信息",
    "行政管理信息",
    "职称和职业资格",
    "经营异常名录",
    "严重失信主体名单",
    "合同履行",
    "信用承诺及履行",
    "信用评价结果",
    "遵守法律法规情况",
    "诚实守信相关荣誉",
    "其他",
}
SUBJECT_KINDS = {"legal", "individual", "person"}
DISCLOSURES = {"public", "government", "authorized"}
PUBLICITY_KEYS = {
    "published",
    "persons_published",
    "date_field",
    "end_field",
    "deadline_working_days",
}
SUBJECT_KEYS = {
    "name",
    "kind",
    "fixed_kind",
    "uscc",
    "id_type",
    "id_number",
    "legal_rep",
    "legal_rep_id_type",
    "legal_rep_id_number",
    "org_code",
    "reg_no",
}
TYPES = {"text", "code", "multicode", "date", "decimal", "integer", "uscc", "id_number"}
FIELD_KEYS = {
    "code",
    "label",
    "type",
    "required",
    "required_if",
    "max_length",
    "code_table",
    "scale",
    "not_future",
    "not_before",
    "public",
    "personal",
    "aliases",
    "unit",
    "currency_field",
    "required_source",
    "label_en",  # the English label on /en/ pages (catalog.names)
}
# subject role -> (expected field type, expected code table)
SUBJECT_FIELD_TYPES = {
    "kind": ("code", "XDR_LB"),
    "uscc": ("uscc", None),
    "org_code": ("text", None),
    "reg_no": ("text", None),
    "id_type": ("code", "ZJLX"),
    "id_number": ("id_number", None),
    "legal_rep_id_type": ("code", "ZJLX"),
    "legal_rep_id_number": ("id_number", None),
}
REQUIRED_ITEMS = {
    "CF",
    "XK",
    "DJ",
    "NSXY_A",
    "SSWF",
    "SXBZX",
    "HJXY",
    "SBQF",
    "QXGZ",
    "JZBLXW",
    "SPAQ",
    "XFAQ",
    "HGXY",
    "RYJL",
    "SHTZXY",
    "CNWY",
}
NEUTRAL_ITEMS = {"XK", "DJ"}  # licenses and registrations are neither trust- nor untrustworthy

RULE_KEYS = {
    "code",
    "item",
    "name",
    "kind",
    "severity",
    "priority",
    "when",
    "publicity",
    "restoration",
    "basis",
}
OPERATORS = {"eq", "in", "not_in", "gt", "gte", "lt", "lte", "present", "contains_any"}
NUMERIC_OPERATORS = {"gt", "gte", "lt", "lte"}
SEVERITY_RANK = {"minor": 1, "general": 2, "serious": 3}

MATTER_KEYS = {"code", "name", "category", "departments", "checks", "basis"}
LIST_TYPES = frozenset(
    t["code"]
    for t in yaml.safe_load((DATA / "list_types.yaml").read_text(encoding="utf-8"))["list_types"]
)
GRADES = {"A", "B", "C", "D"}
CALENDAR_YEARS = {2024, 2025, 2026, 2027}

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
RULE_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*(-[A-Z0-9_]+)*$")


def _load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def departments() -> frozenset[str]:
    return frozenset(d["code"] for d in _load(DATA / "departments.yaml")["departments"])


@cache
def code_tables() -> dict:
    return _load(DATA / "code_tables.yaml")["tables"]


@cache
def catalog() -> dict[str, dict]:
    return {path.stem: _load(path) for path in sorted(CATALOG_DIR.glob("*.yaml"))}


@cache
def behavior_rules() -> list[dict]:
    return _load(DATA / "behavior_rules.yaml")["rules"]


def _table_values(table: str) -> set[str]:
    """Codes and labels of a code table: input may use either."""
    values = code_tables()[table]["values"]
    return {v["code"] for v in values} | {v["label"] for v in values}


def _table_codes(table: str) -> set[str]:
    return {v["code"] for v in code_tables()[table]["values"]}


def _fields(item: dict) -> dict[str, dict]:
    return {f["code"]: f for f in item["fields"]}


ITEM_CODES = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))


# --------------------------------------------------------------------------- code tables


def test_code_tables_are_well_formed():
    data = _load(DATA / "code_tables.yaml")
    assert isinstance(data["version"], int) and data["version"] >= 1
    errors = []
    for name, table in data["tables"].items():
        if not CODE_RE.match(name):
            errors.append(f"{name}: bad table name")
        if not table.get("name") or not table.get("values"):
            errors.append(f"{name}: needs a name and values")
            continue
        codes = [v["code"] for v in table["values"]]
        labels = [v["label"] for v in table["values"]]
        if any(not isinstance(c, str) or not c for c in codes + labels):
            errors.append(f"{name}: codes and labels must be non-empty strings")
        if len(set(codes)) != len(codes) or len(set(labels)) != len(labels):
            errors.append(f"{name}: duplicate code or label")
    assert not errors, errors


def _folded(value: str) -> str:
    # as records.validation compares code values: brackets of either width, no spaces
    return value.replace("(", "（").replace(")", "）").replace(" ", "").replace("\u3000", "")


def test_code_table_synonyms_name_one_entry_each():
    errors = []
    for name, table in code_tables().items():
        owner: dict[str, str] = {}
        for v in table["values"]:
            for word in [v["code"], v["label"], *(v.get("synonyms") or [])]:
                if not isinstance(word, str) or not word:
                    errors.append(f"{name}.{v['code']}: synonyms must be non-empty strings")
                    continue
                other = owner.setdefault(_folded(word), v["code"])
                if other != v["code"]:
                    errors.append(f"{name}: {word!r} names both {other} and {v['code']}")
    assert not errors, errors
    scztlx = {
        w: v["code"] for v in code_tables()["SCZTLX"]["values"] for w in v.get("synonyms", [])
    }
    assert scztlx["有限合伙"] == "有限合伙企业" and scztlx["分公司"] == "公司分公司"


def test_code_tables_keep_the_national_values():
    tables = code_tables()
    assert _table_codes("XDR_LB") == {"法人及非法人组织", "自然人", "个体工商户"}
    assert len(tables["CFLB"]["values"]) == 14
    assert [v["code"] for v in tables["HYML"]["values"]] == list("ABCDEFGHIJKLMNOPQRST")


# --------------------------------------------------------------------------- data catalog


def test_catalog_has_the_required_items_from_many_departments():
    items = catalog()
    assert REQUIRED_ITEMS <= set(items), REQUIRED_ITEMS - set(items)
    providers = {
        p for item in items.values() if item["providers"] != "*" for p in item["providers"]
    }
    assert len(providers) >= 10, providers


@pytest.mark.parametrize("code", ITEM_CODES)
def test_catalog_item_is_consistent(code):
    item = catalog()[code]
    errors: list[str] = []
    missing = ITEM_KEYS - set(item)
    assert not missing, f"missing keys {missing}"
    assert isinstance(item["version"], int) and item["version"] >= 1
    assert item["code"] == code, "code must match the file name"
    assert CODE_RE.match(code)
    if item["category"] not in CATEGORIES:
        errors.append(f"category {item['category']!r} is not a national catalog category")
    for key in ("name", "description"):
        if not isinstance(item[key], str) or not item[key].strip():
            errors.append(f"{key} must be a non-empty string")

    providers = item["providers"]
    if providers != "*":
        if not isinstance(providers, list) or not providers:
            errors.append("providers must be '*' or a non-empty list")
        else:
            unknown = set(providers) - departments()
            if unknown:
                errors.append(f"unknown provider departments {unknown}")
            if len(set(providers)) != len(providers):
                errors.append("duplicate providers")

    kinds = item["subject_kinds"]
    if not kinds or not set(kinds) <= SUBJECT_KINDS or len(set(kinds)) != len(kinds):
        errors.append(f"bad subject_kinds {kinds}")
    if item["disclosure"] not in DISCLOSURES:
        errors.append(f"bad disclosure {item['disclosure']!r}")

    # fields
    fields = _fields(item)
    if len(fields) != len(item["fields"]):
        errors.append("duplicate field codes")
    tables = code_tables()
    for f in item["fields"]:
        fc = f.get("code", "?")
        if not {"code", "label", "type"} <= set(f):
            errors.append(f"{fc}: needs code, label and type")
            continue
        if set(f) - FIELD_KEYS:
            errors.append(f"{fc}: unknown keys {set(f) - FIELD_KEYS}")
        ftype = f["type"]
        if ftype not in TYPES:
            errors.append(f"{fc}: unknown type {ftype!r}")
        if ftype in {"code", "multicode"}:
            if f.get("code_table") not in tables:
                errors.append(f"{fc}: code table {f.get('code_table')!r} does not exist")
        elif "code_table" in f:
            errors.append(f"{fc}: code_table on a {ftype} field")
        if ftype == "text" and not (isinstance(f.get("max_length"), int) and f["max_length"] > 0):
            errors.append(f"{fc}: text field without max_length")
        if ftype == "decimal" and not (isinstance(f.get("scale"), int) and 0 <= f["scale"] <= 6):
            errors.append(f"{fc}: decimal field needs a scale 0-6")
        if ftype != "date" and ("not_future" in f or "not_before" in f):
            errors.append(f"{fc}: date rules on a {ftype} field")
        for flag in ("required", "public", "personal", "not_future"):
            if flag in f and not isinstance(f[flag], bool):
                errors.append(f"{fc}: {flag} must be a boolean")
        if f.get("personal") and f.get("public"):
            errors.append(f"{fc}: personal data can never be public")
        if ftype == "id_number" and not f.get("personal"):
            errors.append(f"{fc}: identity numbers are personal data")
        if "not_before" in f:
            other = fields.get(f["not_before"])
            if other is None or other["type"] != "date" or f["not_before"] == fc:
                errors.append(f"{fc}: not_before {f['not_before']!r} is not another date field")
        if "required_if" in f:
            errors.extend(_check_required_if(fc, f, fields))

    # subject mapping
    subject = item["subject"]
    if set(subject) - SUBJECT_KEYS:
        errors.append(f"subject: unknown keys {set(subject) - SUBJECT_KEYS}")
    if "name" not in subject:
        errors.append("subject.name is required")
    for role, field_code in subject.items():
        if role == "fixed_kind":
            continue
        if field_code not in fields:
            errors.append(f"subject.{role} -> {field_code!r} is not a field")
            continue
        expected = SUBJECT_FIELD_TYPES.get(role)
        field = fields[field_code]
        if expected and (field["type"], field.get("code_table")) != expected:
            errors.append(f"subject.{role} -> {field_code} must be {expected}")
    if "kind" in subject and "fixed_kind" in subject:
        errors.append("subject has both kind and fixed_kind")
    if "fixed_kind" in subject:
        if subject["fixed_kind"] != "legal" or set(kinds) != {"legal"}:
            errors.append("fixed_kind: legal is only for organisation-only items")
    elif "kind" not in subject:
        errors.append("subject needs kind (or fixed_kind: legal)")
    if "person" in kinds and not {"id_type", "id_number"} <= set(subject):
        errors.append("items about natural persons need subject.id_type and id_number")
    if set(kinds) & {"legal", "individual"} and "uscc" not in subject:
        errors.append("items about organisations need subject.uscc")

    # natural key, decision date, publicity
    key = item["natural_key"]
    if not isinstance(key, list) or not key or len(set(key)) != len(key):
        errors.append("natural_key must be a non-empty list of distinct fields")
    else:
        errors.extend(f"natural_key field {k!r} does not exist" for k in key if k not in fields)
    if fields.get(item["decision_date"], {}).get("type") != "date":
        errors.append(f"decision_date {item['decision_date']!r} is not a date field")

    publicity = item["publicity"]
    if set(publicity) - PUBLICITY_KEYS:
        errors.append(f"publicity: unknown keys {set(publicity) - PUBLICITY_KEYS}")
    for flag in ("published", "persons_published"):
        if not isinstance(publicity.get(flag), bool):
            errors.append(f"publicity.{flag} must be a boolean")
    for ref in ("date_field", "end_field"):
        if ref in publicity and fields.get(publicity[ref], {}).get("type") != "date":
            errors.append(f"publicity.{ref} {publicity[ref]!r} is not a date field")
    if "date_field" not in publicity:
        errors.append("publicity.date_field is required")
    deadline = publicity.get("deadline_working_days")
    if deadline is not None and not (isinstance(deadline, int) and deadline > 0):
        errors.append("publicity.deadline_working_days must be a positive integer")
    if publicity.get("published") and item["disclosure"] != "public":
        errors.append("only public items can be published on the portal")
    if publicity.get("persons_published") and (
        "person" not in kinds or not publicity.get("published")
    ):
        errors.append("persons_published needs a published item about natural persons")
    assert not errors, errors


def _check_required_if(fc: str, f: dict, fields: dict[str, dict]) -> list[str]:
    cond = f["required_if"]
    target = fields.get(cond.get("field"))
    if target is None or cond["field"] == fc:
        return [f"{fc}: required_if refers to unknown field {cond.get('field')!r}"]
    errors = []
    if f.get("required"):
        errors.append(f"{fc}: both required and required_if")
    ops = set(cond) - {"field"}
    if ops not in ({"in"}, {"contains"}):
        return [*errors, f"{fc}: required_if needs exactly one of in / contains"]
    (op,) = ops
    if op == "contains" and target["type"] != "multicode":
        errors.append(f"{fc}: required_if contains needs a multicode field")
    if op == "in" and target["type"] != "code":
        errors.append(f"{fc}: required_if in needs a code field")
    if target.get("code_table") in code_tables():
        bad = set(cond[op]) - _table_values(target["code_table"])
        if bad:
            errors.append(f"{fc}: required_if values {bad} not in {target['code_table']}")
    return errors


# --------------------------------------------------------------------------- behavior list


def test_behavior_rules_file():
    data = _load(DATA / "behavior_rules.yaml")
    assert isinstance(data["version"], int) and data["version"] >= 1
    codes = [r["code"] for r in data["rules"]]
    assert len(codes) == len(set(codes)), "rule codes must be unique"
    assert all(RULE_CODE_RE.match(c) for c in codes), codes


def test_every_credit_item_has_behavior_rules():
    covered = {r["item"] for r in behavior_rules()}
    assert set(catalog()) - NEUTRAL_ITEMS <= covered, set(catalog()) - NEUTRAL_ITEMS - covered
    assert not covered & NEUTRAL_ITEMS, "licenses and registrations are neutral"


@pytest.mark.parametrize("rule", behavior_rules(), ids=lambda r: r.get("code", "?"))
def test_behavior_rule_is_consistent(rule):
    errors: list[str] = []
    assert not RULE_KEYS - set(rule), f"missing keys {RULE_KEYS - set(rule)}"
    assert not set(rule) - RULE_KEYS, f"unknown keys {set(rule) - RULE_KEYS}"
    item = catalog().get(rule["item"])
    assert item is not None, f"unknown item {rule['item']!r}"
    fields = _fields(item)
    kind, severity = rule["kind"], rule["severity"]
    if kind not in {"trustworthy", "untrustworthy"}:
        errors.append(f"bad kind {kind!r}")
    if severity not in SEVERITY_RANK:
        errors.append(f"bad severity {severity!r}")
    if kind == "trustworthy" and severity != "general":
        errors.append("trustworthy rules have severity general")
    if not isinstance(rule["priority"], int):
        errors.append("priority must be an integer")
    if not isinstance(rule["basis"], str) or not rule["basis"].strip():
        errors.append("basis (legal basis) is required")
    if not isinstance(rule["when"], list):
        errors.append("when must be a list")
    else:
        for cond in rule["when"]:
            errors.extend(_check_condition(cond, fields))

    pub = rule["publicity"]
    lo, hi = pub.get("min_months", 0), pub.get("max_months")
    if not isinstance(pub.get("published"), bool):
        errors.append("publicity.published must be a boolean")
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
        errors.append(f"bad publicity months {lo}..{hi}")
    elif kind == "untrustworthy":
        # 《信用修复管理办法》（国家发展改革委令2025年第36号）, STANDARDS.md §2
        if severity == "minor" and (pub["published"] or hi > 3):
            errors.append("minor: not published, at most 3 months")
        if severity == "general" and not (3 <= lo and hi <= 12):
            errors.append("general: minimum 3 months, maximum 12 months")
        if severity == "serious" and not (12 <= lo and hi <= 36):
            errors.append("serious: minimum 12 months, maximum 36 months")
    elif not 1 <= hi <= 60:
        errors.append("trustworthy records count for 1 to 60 months")
    if pub.get("published") and not item["publicity"]["published"]:
        errors.append("a rule cannot publish records of an unpublished item")

    restoration = rule["restoration"]
    if not isinstance(restoration.get("allowed"), bool):
        errors.append("restoration.allowed must be a boolean")
    elif restoration["allowed"]:
        after = restoration.get("after_months")
        if kind != "untrustworthy":
            errors.append("only untrustworthy records are restored")
        elif not (isinstance(after, int) and isinstance(lo, int) and lo <= after <= (hi or 0)):
            errors.append(f"restoration after {after} months, outside {lo}..{hi}")
    assert not errors, errors


def _check_condition(cond: dict, fields: dict[str, dict]) -> list[str]:
    field = fields.get(cond.get("field"))
    if field is None:
        return [f"condition on unknown field {cond.get('field')!r}"]
    ops = set(cond) - {"field"}
    if len(ops) != 1 or not ops <= OPERATORS:
        return [f"{cond['field']}: exactly one operator of {sorted(OPERATORS)} needed"]
    (op,) = ops
    value, ftype = cond[op], field["type"]
    errors = []
    if op in NUMERIC_OPERATORS:
        if ftype not in {"decimal", "integer"} or isinstance(value, bool):
            errors.append(f"{cond['field']}: {op} needs a numeric field")
        elif not isinstance(value, int | float):
            errors.append(f"{cond['field']}: {op} needs a number")
    elif op == "present":
        if not isinstance(value, bool):
            errors.append(f"{cond['field']}: present takes true/false")
    elif op == "contains_any" and ftype != "multicode":
        errors.append(f"{cond['field']}: contains_any needs a multicode field")
    if op in {"eq", "in", "not_in", "contains_any"} and ftype in {"code", "multicode"}:
        values = [value] if op == "eq" else value
        if op != "eq" and not isinstance(value, list):
            errors.append(f"{cond['field']}: {op} takes a list")
        else:
            bad = {str(v) for v in values} - _table_codes(field["code_table"])
            if bad:
                errors.append(f"{cond['field']}: {bad} are not codes of {field['code_table']}")
    return errors


@pytest.mark.parametrize("item_code", sorted({r["item"] for r in behavior_rules()}))
def test_first_matching_rule_is_the_most_severe(item_code):
    rules = sorted(
        (r for r in behavior_rules() if r["item"] == item_code), key=lambda r: r["priority"]
    )
    priorities = [r["priority"] for r in rules]
    assert len(priorities) == len(set(priorities)), f"duplicate priorities {priorities}"
    catch_all = [i for i, r in enumerate(rules) if not r["when"]]
    assert not catch_all or catch_all == [len(rules) - 1], "a rule without conditions must be last"
    # narrow rules go from most to least severe; the catch-all (if any) is the fallback
    ranks = [
        SEVERITY_RANK[r["severity"]] for r in rules if r["kind"] == "untrustworthy" and r["when"]
    ]
    assert ranks == sorted(ranks, reverse=True), [r["code"] for r in rules]


# --------------------------------------------------------------------------- application list


def test_matters():
    data = _load(DATA / "matters.yaml")
    assert isinstance(data["version"], int) and data["version"] >= 1
    matters = data["matters"]
    assert len(matters) >= 15
    codes = [m["code"] for m in matters]
    assert len(codes) == len(set(codes)), "matter codes must be unique"
    parents = {m["code"]: m.get("parent") for m in matters}
    # The lists a matter checks are derived from the measures that cover it (or its parent).
    measures = _load(DATA / "measures.yaml")["measures"]
    errors = []
    for m in matters:
        code = m.get("code", "?")
        if not MATTER_KEYS - {"checks"} <= set(m) <= MATTER_KEYS | {"parent"}:
            errors.append(f"{code}: keys {sorted(m)}")
            continue
        if not CODE_RE.match(code):
            errors.append(f"{code}: bad code")
        if not m["departments"] or set(m["departments"]) - departments():
            errors.append(f"{code}: unknown departments {set(m['departments']) - departments()}")
        parent = m.get("parent")
        if parent is not None and (parent not in parents or parents[parent] is not None):
            errors.append(f"{code}: parent must be a matter without a parent")
        checks = m.get("checks") or {}
        if set(checks) - {"min_grade", "items"}:
            errors.append(f"{code}: unknown check keys {set(checks) - {'min_grade', 'items'}}")
        derived = {
            t for ms in measures if {code, parent} & set(ms["matters"]) for t in ms["list_types"]
        }
        if not derived or derived - LIST_TYPES:
            errors.append(f"{code}: no measure covers it, so it would check no list")
        if "min_grade" in checks and checks["min_grade"] not in GRADES:
            errors.append(f"{code}: min_grade must be one of A-D")
        if set(checks.get("items", [])) - set(catalog()):
            errors.append(f"{code}: unknown catalog items {set(checks['items']) - set(catalog())}")
        if not isinstance(m["basis"], str) or not m["basis"].strip():
            errors.append(f"{code}: basis is required")
    assert not errors, errors


# --------------------------------------------------------------------------- calendar


def _as_date(value) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value))


def test_calendar():
    data = _load(DATA / "calendar.yaml")
    assert isinstance(data["version"], int) and data["version"] >= 1
    years = data["years"]
    assert CALENDAR_YEARS <= set(years), set(years)
    errors = []
    for year, days in years.items():
        if not isinstance(year, int) or set(days) != {"holidays", "workdays"}:
            errors.append(f"{year}: needs integer year and holidays + workdays")
            continue
        holidays = [_as_date(d) for d in days["holidays"]]
        workdays = [_as_date(d) for d in days["workdays"]]
        for d in holidays + workdays:
            if d.year != year:
                errors.append(f"{d} listed under {year}")
        errors.extend(f"holiday {d} is not a weekday" for d in holidays if d.weekday() >= 5)
        errors.extend(
            f"make-up workday {d} is not on a weekend" for d in workdays if d.weekday() < 5
        )
        for name, dates in (("holidays", holidays), ("workdays", workdays)):
            if dates != sorted(set(dates)):
                errors.append(f"{year} {name} must be sorted and distinct")
        if not 10 <= len(holidays) <= 25:
            errors.append(f"{year}: {len(holidays)} weekday holidays is implausible")
    assert not errors, errors
    # spot checks against the State Council notices
    assert dt.date(2026, 2, 16) in [_as_date(d) for d in years[2026]["holidays"]]
    assert dt.date(2026, 2, 28) in [_as_date(d) for d in years[2026]["workdays"]]
    assert dt.date(2025, 1, 28) in [_as_date(d) for d in years[2025]["holidays"]]


# --------------------------------------------------------------------------- 双公示 template

# The national 双公示 template (../shared/STANDARDS.md §1): fields marked * …
TEMPLATE_REQUIRED = {
    "CF": {
        "CF_XDR_MC", "CF_XDR_LB", "CF_WSH", "CF_WFXW", "CF_SY", "CF_YJ", "CF_CFLB", "CF_NR",
        "CF_JDRQ", "CF_YXQ", "CF_CFJG", "CF_CFJGDM", "CF_SJLY", "CF_SJLYDM",
    },
    "XK": {"XK_XKWS", "XK_WSH", "XK_XKLB", "XK_XKZS", "XK_NR", "XK_XKJGDM"},
}  # fmt: skip
# … the fields its conditional rules or explanation make conditional or optional: never
# required outright (a license without a certificate has no 许可证书名称) …
TEMPLATE_NOT_REQUIRED = {
    "CF": {
        "CF_XDR_SHXYM", "CF_XDR_ZJLX", "CF_XDR_ZJHM", "CF_NR_FK", "CF_NR_WFFF", "CF_NR_ZKDX",
        "CF_GSJZQ", "CF_XDR_GSZC", "CF_XDR_ZZJG", "CF_XDR_SWDJ", "CF_XDR_SYDW", "CF_XDR_SHZZ",
        "CF_FRDB", "CF_FR_ZJLX", "CF_FR_ZJHM", "BZ",
    },
    "XK": {
        "XK_XKZS", "XK_XKBH", "XK_XDR_SHXYM", "XK_XDR_ZJLX", "XK_XDR_ZJHM", "XK_XDR_GSZC",
        "XK_XDR_ZZJG", "XK_XDR_SWDJ", "XK_XDR_SYDW", "XK_XDR_SHZZ", "XK_FRDB", "XK_FR_ZJLX",
        "XK_FR_ZJHM", "BZ",
    },
}  # fmt: skip
# … and the conditional ones that must stay conditional (required_if).
TEMPLATE_CONDITIONAL = {
    "CF": {"CF_XDR_SHXYM", "CF_XDR_ZJLX", "CF_XDR_ZJHM", "CF_NR_FK", "CF_NR_WFFF", "CF_NR_ZKDX"},
    "XK": {"XK_XDR_SHXYM", "XK_XDR_ZJLX", "XK_XDR_ZJHM"},
}
REQUIRED_SOURCES = {"template", "template_rule", "template_cf", "national"}


@pytest.mark.parametrize("code", ["CF", "XK"])
def test_double_publicity_required_flags_follow_the_national_template(code):
    fields = _fields(catalog()[code])
    required = {c for c, f in fields.items() if f.get("required")}
    conditional = {c for c, f in fields.items() if f.get("required_if")}
    # the certificate is the template's * but its explanation makes it optional
    assert TEMPLATE_REQUIRED[code] - {"XK_XKZS"} <= required
    assert not required & TEMPLATE_NOT_REQUIRED[code]
    assert TEMPLATE_CONDITIONAL[code] <= conditional
    for c in required | conditional:
        source = fields[c].get("required_source")
        assert source in REQUIRED_SOURCES, f"{c}: required_source {source!r}"
        if c in TEMPLATE_REQUIRED[code]:
            assert source == "template", c
        if c in TEMPLATE_CONDITIONAL[code]:
            assert source == "template_rule", c
    assert not [
        c for c, f in fields.items() if "required_source" in f and c not in required | conditional
    ]
