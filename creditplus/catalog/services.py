"""Loading the three lists (三清单) and the working-day calendar from reference data."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Model

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.services import REFERENCE_DIR, read_reference
from creditplus.catalog.models import BehaviorRule, CalendarDay, CatalogItem, CodeTable, Matter
from creditplus.catalog.names import local_labels
from creditplus.catalog.schema import Condition, ItemSpec
from creditplus.errors import DomainError

ITEM_KEYS = (
    "subject_kinds",
    "subject",
    "registry",
    "natural_key",
    "decision_date",
    "publicity",
    "fields",
    "authority",
)


INDUSTRY_TABLE = "HYML"  # 国民经济行业门类: the letter the registration item (DJ) stores


def code_label(table: str, code: str) -> str:
    """The label of ``code`` in code table ``table`` (C → 制造业, 1 → 有效), for pages and
    reports that must never show a raw code; ``code`` itself when the table does not know it
    (older data may hold labels already). On English pages the English label, when on file."""
    if not code:
        return ""
    values = CodeTable.objects.filter(code=table).values_list("values", flat=True).first() or []
    label = next((str(v["label"]) for v in values if str(v["code"]) == code), code)
    return local_labels(table, {code: label})[code]


def upsert_reference(
    model: type[Model],
    key: dict[str, Any],
    version: int,
    values: dict[str, Any],
    m2m: dict[str, list[Any]] | None = None,
) -> str:
    """Create the object, or overwrite it when the file's version is newer than the one it
    was loaded from (so that admin edits survive until the file is revised). Audited."""
    obj = model.objects.select_for_update().filter(**key).first()
    label = model._meta.label_lower
    if obj is not None and obj.source_version >= version:
        return "kept"
    created = obj is None
    if created:
        obj = model(**key)
    before = None if created else {k: getattr(obj, k) for k in values}
    for name, value in values.items():
        setattr(obj, name, value)
    obj.source_version = version
    obj.save()
    for name, related in (m2m or {}).items():
        getattr(obj, name).set(related)
    audit.record(
        f"{label}.{'create' if created else 'update'}",
        obj=obj,
        purpose="载入参考数据",
        before=before,
        after={**values, "source_version": version},
    )
    return "created" if created else "updated"


def load_summary(name: str, results: list[str]) -> str:
    return (
        f"{name}：{len(results)} 项（新增 {results.count('created')}，更新 {results.count('updated')}，"
        f"保持 {results.count('kept')}）"
    )


@transaction.atomic
def load_code_tables() -> str:
    """Load ``code_tables.yaml``."""
    data = read_reference("code_tables.yaml")
    results = [
        upsert_reference(
            CodeTable,
            {"code": code},
            data["version"],
            # English labels (label_en) go to EnglishName (catalog.names), not into the table.
            {
                "name": table["name"],
                "values": [
                    {k: v[k] for k in ("code", "label", "synonyms") if k in v}
                    for v in table["values"]
                ],
            },
        )
        for code, table in data["tables"].items()
    ]
    return load_summary("代码表", results)


def _departments(codes: list[str] | str, where: str) -> tuple[bool, list[Department]]:
    if codes == "*":
        return True, []
    found = list(Department.objects.filter(code__in=codes))
    missing = set(codes) - {d.code for d in found}
    if missing:
        raise DomainError("reference_invalid", f"{where}：部门 {sorted(missing)} 不存在")
    return False, found


@transaction.atomic
def load_catalog_items() -> str:
    """Load every ``catalog/*.yaml`` item, checking its schema and code tables."""
    tables = set(CodeTable.objects.values_list("code", flat=True))
    results = []
    for path in sorted((Path(REFERENCE_DIR) / "catalog").glob("*.yaml")):
        data = read_reference(f"catalog/{path.name}")
        code = str(data["code"])
        definition = {k: data[k] for k in ITEM_KEYS if k in data}
        spec = ItemSpec.parse(code, data["name"], definition)
        unknown = {f.code_table for f in spec.fields if f.code_table} - tables
        if unknown:
            raise DomainError("reference_invalid", f"{path.name}：代码表 {sorted(unknown)} 不存在")
        all_depts, providers = _departments(data.get("providers", "*"), path.name)
        results.append(
            upsert_reference(
                CatalogItem,
                {"code": code},
                data["version"],
                {
                    "name": data["name"],
                    "category": data.get("category", ""),
                    "description": data.get("description", ""),
                    "all_departments": all_depts,
                    "disclosure": data.get("disclosure", "government"),
                    "definition": definition,
                    "is_active": data.get("active", True),
                },
                m2m={"providers": providers},
            )
        )
    return load_summary("信息事项", results)


@transaction.atomic
def load_behavior_rules() -> str:
    """Load ``behavior_rules.yaml`` (the behavior list)."""
    path = Path(REFERENCE_DIR) / "behavior_rules.yaml"
    if not path.exists():
        return "行为清单：无"
    data = read_reference("behavior_rules.yaml")
    items = {i.code: i for i in CatalogItem.objects.all()}
    results = []
    for raw in data["rules"]:
        item = items.get(raw["item"])
        if item is None:
            raise DomainError(
                "reference_invalid", f"行为规则 {raw['code']}：事项 {raw['item']} 不存在"
            )
        conditions = raw.get("when") or []
        fields = {f.code for f in item.spec.fields}
        for cond in conditions:
            parsed = Condition.parse(cond, raw["code"])
            if parsed.field not in fields:
                raise DomainError(
                    "reference_invalid", f"行为规则 {raw['code']}：字段 {parsed.field} 不存在"
                )
        publicity = raw.get("publicity") or {}
        restoration = raw.get("restoration") or {}
        results.append(
            upsert_reference(
                BehaviorRule,
                {"code": raw["code"]},
                data["version"],
                {
                    "item": item,
                    "name": raw["name"],
                    "kind": raw["kind"],
                    "severity": raw["severity"],
                    "priority": raw.get("priority", 100),
                    "conditions": conditions,
                    "published": publicity.get("published", True),
                    "min_months": publicity.get("min_months", 0),
                    "max_months": publicity.get("max_months", 0),
                    "restoration_allowed": restoration.get("allowed", True),
                    "restoration_after_months": restoration.get(
                        "after_months", publicity.get("min_months", 0)
                    ),
                    "basis": raw.get("basis", ""),
                    "is_active": raw.get("active", True),
                },
            )
        )
    return load_summary("行为清单", results)


@transaction.atomic
def load_matters() -> str:
    """Load ``matters.yaml`` (the application list)."""
    if not (Path(REFERENCE_DIR) / "matters.yaml").exists():
        return "应用清单：无"
    data = read_reference("matters.yaml")
    check_matter_hierarchy(data["matters"])
    results = []
    # Generic matters first, so that a specific matter's parent exists when it is written.
    for raw in sorted(data["matters"], key=lambda r: bool(r.get("parent"))):
        _, departments = _departments(raw.get("departments", []), f"应用事项 {raw['code']}")
        parent = Matter.objects.get(code=raw["parent"]).pk if raw.get("parent") else None
        results.append(
            upsert_reference(
                Matter,
                {"code": raw["code"]},
                data["version"],
                {
                    "name": raw["name"],
                    "category": raw.get("category", ""),
                    "parent_id": parent,
                    "checks": raw.get("checks") or {},
                    "basis": raw.get("basis", ""),
                    "is_active": raw.get("active", True),
                },
                m2m={"departments": departments},
            )
        )
    return load_summary("应用清单", results)


def check_matter_hierarchy(matters: list[dict[str, Any]]) -> None:
    """Refuse an application list whose hierarchy is not one level deep over known codes, or
    that states the lists to check, which are derived from the measure catalog."""
    parents = {m["code"]: m.get("parent") or None for m in matters}
    for code, parent in parents.items():
        if parent is None:
            continue
        if parent not in parents:
            raise DomainError("reference_invalid", f"应用事项 {code}：上级事项 {parent} 不存在")
        if parents[parent] is not None:
            raise DomainError(
                "reference_matter_depth",
                f"应用事项 {code}：上级事项 {parent} 本身还有上级，事项层级只允许一级",
            )
    stated = sorted(m["code"] for m in matters if "lists" in (m.get("checks") or {}))
    if stated:
        raise DomainError(
            "reference_lists_derived",
            f"应用事项 {'、'.join(stated)}：核查名单由奖惩措施清单推导，应用清单不再列出 lists",
        )


@transaction.atomic
def load_calendar() -> str:
    """Load ``calendar.yaml``: holidays on weekdays and make-up working days on weekends."""
    if not (Path(REFERENCE_DIR) / "calendar.yaml").exists():
        return "工作日历：无"
    data = read_reference("calendar.yaml")
    wanted: dict[date, bool] = {}
    for _year, spec in (data.get("years") or {}).items():
        for day in spec.get("holidays") or []:
            wanted[_as_date(day)] = False
        for day in spec.get("workdays") or []:
            wanted[_as_date(day)] = True
    current = dict(CalendarDay.objects.values_list("date", "is_workday"))
    changed = {d: w for d, w in wanted.items() if current.get(d) != w}
    removed = [d for d in current if d not in wanted]
    if changed or removed:
        CalendarDay.objects.filter(date__in=[*changed, *removed]).delete()
        CalendarDay.objects.bulk_create(
            CalendarDay(date=d, is_workday=w, note="调休上班" if w else "法定节假日")
            for d, w in sorted(changed.items())
        )
        audit.record(
            "catalog.calendar.update",
            object_type="catalog.calendarday",
            purpose="载入参考数据",
            after={
                "changed": sorted(str(d) for d in changed),
                "removed": sorted(str(d) for d in removed),
            },
        )
        from creditplus.catalog import calendar

        calendar.clear_cache()
    return f"工作日历：{len(wanted)} 个例外日期（变更 {len(changed) + len(removed)}）"


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
