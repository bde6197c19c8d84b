"""English names of reference data on the /en/ pages: departments, list types, catalog items
and code-table values carry ``name_en`` (``label_en``) in their reference-data files;
``load_english_names`` copies them into :class:`EnglishName`, and :func:`local_name` gives the
name to show in the active language (the Chinese one when no English is on file)."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import yaml
from django.core.cache import cache
from django.db import transaction
from django.utils import translation

from creditplus.accounts import audit
from creditplus.accounts.services import REFERENCE_DIR, read_reference
from creditplus.catalog.models import EnglishName

CACHE_KEY = "catalog.english_names"
CACHE_SECONDS = 300


def _from_files() -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    for row in read_reference("departments.yaml")["departments"]:
        if row.get("name_en"):
            names["department", row["code"]] = str(row["name_en"])
    for row in read_reference("list_types.yaml")["list_types"]:
        if row.get("name_en"):
            names["list_type", row["code"]] = str(row["name_en"])
    for path in sorted(glob.glob(str(Path(REFERENCE_DIR) / "catalog" / "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            item: dict[str, Any] = yaml.safe_load(fh)
        if item.get("name_en"):
            names["item", str(item["code"])] = str(item["name_en"])
        for field in item.get("fields", []):
            if field.get("label_en"):
                names["field", str(field["code"])] = str(field["label_en"])
    for table, spec in read_reference("code_tables.yaml")["tables"].items():
        for value in spec.get("values", []):
            if value.get("label_en"):
                names[f"code:{table}", str(value["code"])] = str(value["label_en"])
    return names


@transaction.atomic
def load_english_names() -> str:
    """Replace the English names by those of the reference-data files (idempotent, audited)."""
    names = _from_files()
    current = {(n.kind, n.code): n.name for n in EnglishName.objects.all()}
    if current != names:
        EnglishName.objects.all().delete()
        EnglishName.objects.bulk_create(
            EnglishName(kind=kind, code=code, name=name) for (kind, code), name in names.items()
        )
        audit.record(
            "reference.english_names",
            object_type="catalog.englishname",
            after={"count": len(names)},
        )
    cache.delete(CACHE_KEY)
    return f"英文名称：{len(names)} 项"


def _english() -> dict[tuple[str, str], str]:
    names = cache.get(CACHE_KEY)
    if names is None:
        names = {(n.kind, n.code): n.name for n in EnglishName.objects.all()}
        cache.set(CACHE_KEY, names, CACHE_SECONDS)
    return names


def english_active() -> bool:
    return (translation.get_language() or "").startswith("en")


def local_name(kind: str, code: str, chinese: str) -> str:
    """``chinese``, or on English pages the English name of ``kind`` ``code`` when one is on
    file."""
    if not english_active():
        return chinese
    return _english().get((kind, code), chinese)


def local_labels(table: str, labels: dict[str, str]) -> dict[str, str]:
    """A code table's ``{code: label}`` in the active language."""
    if not english_active():
        return labels
    english = _english()
    return {code: english.get((f"code:{table}", code), label) for code, label in labels.items()}
