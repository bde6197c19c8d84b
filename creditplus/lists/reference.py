"""Reference data of this app (deadlines, list types), loaded by ``creditplus load_reference`` in
app order."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from creditplus.accounts.models import Department
from creditplus.accounts.services import read_reference
from creditplus.catalog.models import CatalogItem
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError
from creditplus.lists.models import Deadline, ListType


@transaction.atomic
def load_deadlines() -> str:
    """Load ``deadlines.yaml`` (working-day time limits)."""
    data = read_reference("deadlines.yaml")
    results = [
        upsert_reference(
            Deadline,
            {"code": code},
            data["version"],
            {"name": d["name"], "working_days": d["working_days"], "basis": d.get("basis", "")},
        )
        for code, d in data["deadlines"].items()
    ]
    return load_summary("办理期限", results)


@transaction.atomic
def load_list_types() -> str:
    """Load ``list_types.yaml``; department and catalog codes must exist."""
    data = read_reference("list_types.yaml")
    results = []
    for t in data["list_types"]:
        source = t.get("source") or {}
        deciding = None
        if t.get("deciding_department"):
            deciding = Department.objects.filter(code=t["deciding_department"]).first()
            if deciding is None:
                raise DomainError(
                    "reference_unknown_department",
                    _("名单 %(c)s 的认定部门不存在：%(d)s")
                    % {"c": t["code"], "d": t["deciding_department"]},
                )
        item = None
        if source:
            item = CatalogItem.objects.filter(code=source["item"]).first()
            if item is None:
                raise DomainError(
                    "reference_unknown_item",
                    _("名单 %(c)s 的来源数据项不存在：%(i)s")
                    % {"c": t["code"], "i": source["item"]},
                )
        results.append(
            upsert_reference(
                ListType,
                {"code": t["code"]},
                data["version"],
                {
                    "name": t["name"],
                    "kind": t["kind"],
                    "origin": t["origin"],
                    "deciding_department": deciding,
                    "criteria": t["criteria"].strip(),
                    "basis": t["basis"].strip(),
                    "severity": t.get("severity") or "",
                    "published": t["published"],
                    "default_months": t["default_months"],
                    "min_months": t.get("min_months", 0),
                    "restoration_allowed": t.get("restoration_allowed", True),
                    "subject_kinds": t.get("subject_kinds", ["legal", "individual"]),
                    "triggers": t.get("triggers", []),
                    "exclude": t.get("exclude", []),
                    "source_item": item,
                    "source_rules": source.get("rules", []),
                },
            )
        )
    return load_summary("名单类型", results)


LOADERS = [load_deadlines, load_list_types]
