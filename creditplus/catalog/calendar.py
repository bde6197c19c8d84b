"""Working days (工作日): weekends off, except the official holidays and make-up working days
kept as data in ``CalendarDay`` (loaded from ``calendar.yaml``)."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from creditplus.catalog.models import CalendarDay


@lru_cache(maxsize=1)
def _exceptions() -> tuple[frozenset[date], frozenset[date]]:
    rows = list(CalendarDay.objects.values_list("date", "is_workday"))
    return (
        frozenset(d for d, w in rows if not w),
        frozenset(d for d, w in rows if w),
    )


def clear_cache() -> None:
    """Forget the cached calendar (after the calendar data changed)."""
    _exceptions.cache_clear()


def is_workday(day: date) -> bool:
    """True when ``day`` is a working day."""
    holidays, workdays = _exceptions()
    if day in holidays:
        return False
    if day in workdays:
        return True
    return day.weekday() < 5


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the month's last day (31 January
    + 1 month = 28/29 February), as publicity periods are counted."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    # Every month has 28 days: only a later day needs the month's length (a weekday sum).
    day = start.day if start.day <= 28 else min(start.day, monthrange(year, month)[1])
    return date(year, month, day)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted), e.g. the
    deadline of "answer within 3 working days" for an application received on ``start``."""
    if days < 0:
        raise ValueError("days must be non-negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end ≤ start)."""
    if end <= start:
        return 0
    return int(working_days_between_many(np.array([start]), np.array([end]))[0])


def working_days_between_many(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Vectorized :func:`working_days_between` over arrays of dates (for data-quality figures)."""
    holidays, workdays = _exceptions()
    s = starts.astype("datetime64[D]") + np.timedelta64(1, "D")
    e = ends.astype("datetime64[D]") + np.timedelta64(1, "D")
    s = np.minimum(s, e)
    counts = np.busday_count(s, e, holidays=sorted(holidays))
    if workdays:
        extra = np.array(sorted(workdays), dtype="datetime64[D]")
        counts = counts + (
            np.searchsorted(extra, e, side="left") - np.searchsorted(extra, s, side="left")
        )
    return counts
