"""The catalog as the generator sees it: reference YAML files, items and their streams.

``Item`` gives every field a generation role (subject, authority, document number, or its
plain type); ``Stream`` is one department's supply of one item, planned by ``_plan``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference_data"


def _yaml(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def load_reference(ref_dir: Path = REFERENCE_DIR) -> tuple[list[dict], list[dict], dict]:
    """(catalog items sorted by code, departments, code tables) as read from the YAML files."""
    items = []
    for path in sorted((ref_dir / "catalog").glob("*.yaml")):
        try:
            spec = _yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:  # being written right now
            log.warning("skipping %s: %s", path.name, exc)
            continue
        if isinstance(spec, dict) and spec.get("code") and isinstance(spec.get("fields"), list):
            items.append(spec)
    departments = _yaml((ref_dir / "departments.yaml").read_text("utf-8"))
    tables = _yaml((ref_dir / "code_tables.yaml").read_text("utf-8"))
    return sorted(items, key=lambda s: str(s["code"])), departments["departments"], tables["tables"]


_AUTHORITY = re.compile(r"(机关|单位|海关|法院|数据来源)(名称)?$")
_DOC = re.compile(r"文号|文书号|文书编号|决定书号|案号|顺序号")
_EVENT = re.compile(r"移出|删除|撤销|解除|终止|注销")  # optional dates of a later event
_REASON_TABLE = re.compile(r"违法|情形|事由|失信|不良|案件性质|原因")


def _core(label: str) -> str:
    """The label without a trailing parenthetical: 授予机关（单位） → 授予机关."""
    return re.sub(r"[（(][^（()）]*[）)]$", "", label)


@dataclass
class Item:
    """A catalog item as the generator sees it: fields with their generation roles."""

    spec: dict
    tables: dict
    code: str = ""
    name: str = ""
    fields: list[dict] = field(default_factory=list)
    by_code: dict[str, dict] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    kinds: tuple[str, ...] = ()
    natural_key: list[str] = field(default_factory=list)
    decision: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    per_subject: bool = False
    market_only: bool = False
    penalty_field: str | None = None
    reason_field: str | None = None  # a code field saying what happened (违法行为类型, 失信情形…)
    labels_unique: bool = True

    def __post_init__(self) -> None:
        s = self.spec
        self.code, self.name = str(s["code"]), str(s.get("name", s["code"]))
        self.fields = [f for f in s["fields"] if isinstance(f, dict) and f.get("code")]
        self.by_code = {f["code"]: f for f in self.fields}
        subject = s.get("subject") or {}
        self.subject = {k: v for k, v in subject.items() if v in self.by_code}
        kinds = s.get("subject_kinds") or [subject.get("fixed_kind", "legal")]
        self.kinds = tuple(k for k in ("legal", "individual", "person") if k in kinds) or ("legal",)
        self.natural_key = [k for k in s.get("natural_key") or [] if k in self.by_code]
        dec = s.get("decision_date") or (s.get("publicity") or {}).get("date_field")
        self.decision = dec if dec in self.by_code else None
        labels = [str(f.get("label") or f["code"]) for f in self.fields]
        self.labels_unique = len(set(labels)) == len(labels)
        role_of = {v: k for k, v in self.subject.items()}
        doc_in_key = any(
            _DOC.search(str(self.by_code[k].get("label", ""))) for k in self.natural_key
        )
        self.reason_field = next(
            (
                f["code"]
                for f in self.fields
                if f.get("type") == "code"
                and _REASON_TABLE.search(
                    str((self.tables.get(f.get("code_table") or "") or {}).get("name", ""))
                )
            ),
            None,
        )
        for f in self.fields:
            code, label, typ = f["code"], str(f.get("label", "")), f.get("type", "text")
            if code in role_of:
                role = "subj." + role_of[code]
            elif typ == "uscc":
                role = "auth.uscc"
            elif (
                typ == "text"
                and _AUTHORITY.search(_core(label))
                and not re.search(r"注册地|所属", label)
            ):
                role = "auth.name"
            elif typ == "text" and (
                _DOC.search(label)
                or (
                    code in self.natural_key
                    and not doc_in_key
                    and not re.search(r"名称|年度|代码", label)
                )
            ):
                role = "doc"
            else:
                role = typ
            self.roles[code] = role
            if typ == "multicode" and "罚款" in self.table_codes(f):
                self.penalty_field = code
            if typ == "code" and {"个体工商户", "有限责任公司"} <= set(self.table_codes(f)):
                self.market_only = True
        ids = {self.subject.get(k) for k in ("uscc", "id_number", "name")} - {None}
        self.per_subject = self.code == "DJ" or (
            bool(self.natural_key) and set(self.natural_key) <= ids
        )

    def table(self, f: dict) -> list[dict]:
        t = self.tables.get(f.get("code_table") or "", {}) or {}
        return [v for v in t.get("values", []) if isinstance(v, dict) and "code" in v]

    def table_codes(self, f: dict) -> list[str]:
        return [str(v["code"]) for v in self.table(f)]

    def to_codes(self, f: dict, values) -> list[str]:
        label_to_code = {str(v.get("label")): str(v["code"]) for v in self.table(f)}
        return sorted({label_to_code.get(str(v), str(v)) for v in values})

    @property
    def keyed_by_construction(self) -> bool:
        """Natural keys unique without checking: document numbers, or one row per subject."""
        return self.per_subject or any(self.roles[k] == "doc" for k in self.natural_key)

    def weight(self) -> float:
        """Relative volume among the items that are not one-row-per-subject."""
        text = self.code + self.name + str(self.spec.get("category", ""))
        for pattern, w in (
            ("^XK", 30),
            ("^CF", 14),
            ("荣誉|表彰|奖励", 0.3),
            ("失信|严重|黑名单", 0.5),
            ("承诺", 3),
            ("检查|抽查", 4),
            ("异常", 1.5),
            ("评价|等级|级别", 0.6),
        ):
            if re.search(pattern, text):
                return w
        return 2.0


@dataclass
class Stream:
    """One department's supply of one item: one or more files in the same style."""

    item: Item
    dept: dict
    rows: int
    format: str = "csv-utf8"
    headers: str = "labels"
    date_fmt: str = "%Y-%m-%d"
    labels_for_codes: bool = False  # code fields given by their labels (居民身份证, 有效…)
    separator: str = ";"
    bad_rate: float = 0.025
    person_share: float = 0.0
    subject_slice: tuple[int, int] | None = None  # one-row-per-subject items: part of the pool
    files: list[tuple[str, int]] = field(default_factory=list)
