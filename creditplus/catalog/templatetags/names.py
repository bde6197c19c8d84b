"""``{{ department|local_name }}``: a department's, list type's or catalog item's name in the
page's language (English names come from the reference data; see catalog.names)."""

from __future__ import annotations

from typing import Any

from django import template

from creditplus.catalog import names

register = template.Library()

# Model name → the kind its English names are filed under.
KINDS = {"Department": "department", "ListType": "list_type", "CatalogItem": "item"}


@register.filter
def local_name(obj: Any) -> str:
    if obj is None or obj == "":
        return ""
    kind = KINDS.get(type(obj).__name__)
    if kind is None:
        return str(getattr(obj, "name", obj))
    return names.local_name(kind, obj.code, obj.name)
