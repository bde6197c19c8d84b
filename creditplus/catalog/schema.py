"""Typed views of the catalog's JSON definitions (field schema, subject mapping, conditions).

Catalog items and behavior rules are stored as JSON (loaded from the versioned YAML files and
editable in the admin); these dataclasses parse and check that JSON once, so that ingest and
the pages work with attributes instead of dictionary look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from creditplus.catalog.choices import FIELD_TYPES, SubjectKind
from creditplus.errors import DomainError

# Subject fields that a registration item may fill (see ItemSpec.registry).
REGISTRY_FIELDS = frozenset(
    {
        "legal_rep_name",
        "enterprise_type",
        "industry",
        "address",
        "registered_capital",
        "established_on",
        "status",
        "business_scope",
        "reg_no",
    }
)
CONDITION_OPS = (
    "in",
    "not_in",
    "contains",
    "contains_any",
    "eq",
    "gt",
    "gte",
    "lt",
    "lte",
    "present",
)


def _invalid(where: str, problem: str) -> DomainError:
    return DomainError("catalog_invalid", f"清单定义不合法（{where}）：{problem}")


@dataclass(frozen=True)
class Condition:
    """One condition on a field: ``{field: X, in: [..]}`` / ``{field: X, gte: 100}`` …"""

    field: str
    op: str
    value: Any

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> Condition:
        if not isinstance(raw, dict) or "field" not in raw:
            raise _invalid(where, f"条件缺少 field：{raw!r}")
        ops = [k for k in raw if k != "field"]
        if len(ops) != 1 or ops[0] not in CONDITION_OPS:
            raise _invalid(where, f"条件须且仅须有一个运算符 {CONDITION_OPS}：{raw!r}")
        op = ops[0]
        value = raw[op]
        if op in ("in", "not_in", "contains", "contains_any") and not isinstance(value, list):
            value = [value]
        if op in ("in", "not_in", "contains", "contains_any"):
            value = [str(v) for v in value]
        return cls(str(raw["field"]), op, value)


@dataclass(frozen=True)
class FieldSpec:
    code: str
    label: str
    type: str
    required: bool = False
    required_if: Condition | None = None
    max_length: int | None = None
    code_table: str | None = None
    scale: int | None = None
    not_future: bool = False
    not_before: str | None = None
    public: bool = True
    personal: bool = False
    # Other headers other platforms' exports use for this field (e.g. COMP_NAME).
    aliases: tuple[str, ...] = ()
    # decimal: the unit the stored number is in (元 or 万元) and the code field that takes a
    # currency written inside the amount ("50万美元"); see records.amounts.
    unit: str | None = None
    currency_field: str | None = None
    # Why the field is required or conditionally required (the national template, a law,
    # or a platform rule), so that every required flag can be checked against its source.
    required_source: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> FieldSpec:
        try:
            code, label, ftype = str(raw["code"]), str(raw["label"]), str(raw["type"])
        except (KeyError, TypeError):
            raise _invalid(where, f"字段缺少 code/label/type：{raw!r}") from None
        if ftype not in FIELD_TYPES:
            raise _invalid(where, f"字段 {code} 的类型 {ftype} 未定义")
        if ftype in ("code", "multicode") and not raw.get("code_table"):
            raise _invalid(where, f"字段 {code} 缺少 code_table")
        req_if = raw.get("required_if")
        return cls(
            code=code,
            label=label,
            type=ftype,
            required=bool(raw.get("required", False)),
            required_if=Condition.parse(req_if, f"{where}.{code}") if req_if else None,
            max_length=raw.get("max_length"),
            code_table=raw.get("code_table"),
            scale=raw.get("scale"),
            not_future=bool(raw.get("not_future", False)),
            not_before=raw.get("not_before"),
            public=bool(raw.get("public", True)),
            personal=bool(raw.get("personal", False)),
            aliases=tuple(str(a).strip() for a in raw.get("aliases") or ()),
            unit=raw.get("unit"),
            currency_field=raw.get("currency_field"),
            required_source=str(raw.get("required_source") or ""),
        )


@dataclass(frozen=True)
class SubjectMap:
    """Which fields of a record identify its subject."""

    name: str
    kind: str | None = None
    fixed_kind: str | None = None
    uscc: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    legal_rep: str | None = None
    legal_rep_id_type: str | None = None
    legal_rep_id_number: str | None = None
    # Old identifiers of an organisation (GB 11714 organisation code, 15-digit registration
    # number): a row without a USCC is resolved to a registered subject through them.
    org_code: str | None = None
    reg_no: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> SubjectMap:
        if not isinstance(raw, dict) or "name" not in raw:
            raise _invalid(where, "subject 缺少 name")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise _invalid(where, f"subject 含未知键 {sorted(unknown)}")
        fixed = raw.get("fixed_kind")
        if fixed and fixed not in SubjectKind.values:
            raise _invalid(where, f"fixed_kind {fixed} 未定义")
        if not raw.get("kind") and not fixed:
            raise _invalid(where, "subject 须有 kind 字段或 fixed_kind")
        return cls(**{k: (str(v) if v is not None else None) for k, v in raw.items()})


@dataclass(frozen=True)
class ItemSpec:
    """The parsed definition of one catalog item (数据清单中的一个信息事项)."""

    code: str
    name: str
    subject_kinds: tuple[str, ...]
    subject: SubjectMap
    natural_key: tuple[str, ...]
    decision_date: str | None
    fields: tuple[FieldSpec, ...]
    publicity: dict[str, Any] = field(default_factory=dict)
    registry: dict[str, str] = field(default_factory=dict)
    # The field holding the deciding authority's USCC (处罚机关、许可机关…): a department may
    # submit only records decided by itself or by an authority it reports for.
    authority: str | None = None

    def category_field(self) -> str | None:
        """The field whose code value is a record's category (处罚类别、许可类别…): the first
        code field that is neither the subject's kind nor a document type."""
        for f in self.fields:
            if (
                f.type in ("code", "multicode")
                and f.code_table not in ("XDR_LB", "ZJLX")
                and f.code != self.subject.kind
            ):
                return f.code
        return None

    @classmethod
    def parse(cls, code: str, name: str, definition: dict[str, Any]) -> ItemSpec:
        where = code
        fields = tuple(FieldSpec.parse(f, where) for f in definition.get("fields", []))
        codes = [f.code for f in fields]
        if len(set(codes)) != len(codes):
            raise _invalid(where, "字段编码重复")
        if not fields:
            raise _invalid(where, "没有字段")
        spec = cls(
            code=code,
            name=name,
            subject_kinds=tuple(definition.get("subject_kinds", [])),
            subject=SubjectMap.parse(definition.get("subject", {}), where),
            natural_key=tuple(definition.get("natural_key", [])),
            decision_date=definition.get("decision_date"),
            fields=fields,
            publicity=dict(definition.get("publicity") or {}),
            registry={str(k): str(v) for k, v in (definition.get("registry") or {}).items()},
            authority=definition.get("authority"),
        )
        by_code = set(codes)
        refs = [*spec.natural_key]
        refs += [v for v in vars(spec.subject).values() if v and v not in SubjectKind.values]
        if spec.decision_date:
            refs.append(spec.decision_date)
        if spec.authority:
            refs.append(spec.authority)
        refs += list(spec.registry.values())
        unknown_registry = set(spec.registry) - REGISTRY_FIELDS
        if unknown_registry:
            raise _invalid(where, f"registry 含未知的主体字段 {sorted(unknown_registry)}")
        for key in ("date_field", "end_field"):
            if spec.publicity.get(key):
                refs.append(spec.publicity[key])
        for f in fields:
            if f.required_if:
                refs.append(f.required_if.field)
            if f.not_before:
                refs.append(f.not_before)
            if f.currency_field:
                refs.append(f.currency_field)
            if f.unit not in (None, "元", "万元"):
                raise _invalid(where, f"字段 {f.code} 的单位 {f.unit} 须为 元 或 万元")
        missing = sorted({r for r in refs if r not in by_code})
        if missing:
            raise _invalid(where, f"引用了不存在的字段 {missing}")
        if spec.authority in by_code and spec.field(spec.authority).type != "uscc":
            raise _invalid(where, f"authority 字段 {spec.authority} 须为统一社会信用代码")
        if not spec.natural_key:
            raise _invalid(where, "缺少 natural_key")
        bad_kinds = set(spec.subject_kinds) - set(SubjectKind.values)
        if bad_kinds or not spec.subject_kinds:
            raise _invalid(where, f"subject_kinds 不合法：{sorted(bad_kinds)}")
        return spec

    def field(self, code: str) -> FieldSpec:
        for f in self.fields:
            if f.code == code:
                return f
        raise KeyError(code)

    @property
    def header_map(self) -> dict[str, str]:
        """Accepted column headers → field code (codes and aliases case-insensitively, and
        labels). Callers look a header up as given and upper-cased."""
        mapping: dict[str, str] = {}
        for f in self.fields:
            for alias in f.aliases:
                mapping[alias.upper()] = f.code
            mapping[f.code.upper()] = f.code
            mapping[f.label] = f.code
        return mapping
