"""Layout of a report's record fields: two short fields share a table row, a long one gets
a row to itself, so that a record takes half the height and records share a page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# A value longer than this (characters) gets the full width of the record's table.
LONG_VALUE = 24


@register.filter
def field_rows(fields: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``fields`` ({label, value}) grouped into rows of one long or up to two short fields,
    in their order."""
    rows: list[list[dict[str, Any]]] = []
    pending: dict[str, Any] | None = None
    for field in fields:
        if len(str(field.get("value", ""))) > LONG_VALUE:
            if pending is not None:
                rows.append([pending])
                pending = None
            rows.append([field])
        elif pending is None:
            pending = field
        else:
            rows.append([pending, field])
            pending = None
    if pending is not None:
        rows.append([pending])
    return rows
