"""Publicity periods counted in calendar months (catalog.calendar.add_months)."""

from datetime import date

import pytest

from creditplus.catalog.calendar import add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 28), 1, date(2026, 2, 28)),
        (date(2026, 1, 29), 1, date(2026, 2, 28)),  # clamped to the month's last day
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # a leap year
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 36, date(2029, 12, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
    ],
)
def test_a_later_day_than_the_month_has_is_its_last_day(start, months, expected):
    assert add_months(start, months) == expected
