from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None, digits: int = 1) -> str:
    """A rate (0–1) as a percentage with ``digits`` decimals, or "—" when there is none."""
    if rate is None:
        return "—"
    return f"{100 * rate:.{digits}f}%"
