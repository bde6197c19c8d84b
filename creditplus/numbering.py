"""Daily serial numbers: ``<prefix><YYYYMMDD><serial>`` (credit reports, commitments).

The next serial is the day's highest plus one. Two writers may draw the same number at the
same moment; the number's unique constraint refuses the second, which draws again.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)

ATTEMPTS = 3


def next_number(model: type[models.Model], prefix: str, day: date, digits: int = 6) -> str:
    """The next free number of ``day`` (by the highest one stored) in ``model.number``."""
    start = f"{prefix}{day:%Y%m%d}"
    last = (
        model.objects.filter(number__startswith=start)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return f"{start}{int(last[-digits:]) + 1 if last else 1:0{digits}d}"


def create_numbered(model: type[M], prefix: str, day: date, **fields: Any) -> M:
    """Create a ``model`` row with the day's next number, drawing again (up to
    :data:`ATTEMPTS` times) when a concurrent writer took it first."""
    for attempt in range(ATTEMPTS):
        try:
            # A savepoint, so that a refused insert leaves the caller's transaction usable.
            with transaction.atomic():
                return model.objects.create(number=next_number(model, prefix, day), **fields)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
