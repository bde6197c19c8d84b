"""The 双公示 timeliness of a generated quarter equals a plain per-record computation: each
record's local day of receipt, its working-day lag after the decision date, against its item's
limit. Written against the per-row implementation (TruncDate) before it became set-based
(range predicates per day), so that the rewrite gives the same scores."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.catalog import calendar
from creditplus.catalog.models import CatalogItem
from creditplus.integrity import services
from creditplus.records.models import CreditRecord, IngestBatch
from tests.factories import make_organisations

pytestmark = pytest.mark.django_db

START, END = date(2026, 4, 1), date(2026, 6, 30)  # 2026Q2: 清明, 劳动节 and 端午 holidays
ROWS = 1_500


def receipt_times(rng: random.Random) -> list[datetime]:
    """Receipt times around the quarter, with the local day's first and last instants and
    the quarter's edges, where a wrong day boundary would show."""
    tz = timezone.get_current_timezone()
    times = []
    for n in range(ROWS):
        day = START + timedelta(days=rng.randint(-4, (END - START).days + 4))
        moment = [time.min, time.max, time(0, 0, 1), time(23, 59, 59)][n % 4]
        if n % 3 == 0:
            moment = time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
        times.append(datetime.combine(day, moment, tzinfo=tz))
    return times


def generated_quarter() -> None:
    rng = random.Random(20260401)
    subjects = make_organisations(40)
    departments = list(Department.objects.filter(code__in=["SCJG", "SW", "STHJ"]))
    items = list(CatalogItem.objects.filter(code__in=["XK", "CF", "DJ"]))
    batch = IngestBatch.objects.create(
        department=departments[0], item=items[0], source="cli", status="done"
    )
    rows = []
    for n, received in enumerate(receipt_times(rng)):
        local = timezone.localdate(received)
        decided = local - timedelta(days=rng.randint(-2, 30))
        rows.append(
            CreditRecord(
                item=items[n % 3],
                subject=subjects[n % 40],
                department=departments[rng.randrange(3)],
                batch=batch,
                row_no=n + 1,
                natural_key=f"K{n}",
                version=1 if n % 11 else 2,
                is_current=True,
                subject_name="x",
                decision_date=None if n % 17 == 0 else decided,
                data="{}",
                received_at=received,
            )
        )
    CreditRecord.objects.bulk_create(rows)


def per_record(limits: dict[int, int]) -> dict[int, dict]:
    """The figures computed one record at a time."""
    since = datetime.combine(START, time.min, tzinfo=timezone.get_current_timezone())
    until = since + timedelta(days=(END - START).days + 1)
    out: dict[int, dict] = {}
    for r in CreditRecord.objects.filter(
        item_id__in=list(limits), version=1, decision_date__isnull=False
    ):
        if not since <= r.received_at < until:
            continue
        lag = calendar.working_days_between(r.decision_date, timezone.localdate(r.received_at))
        f = out.setdefault(r.department_id, {"total": 0, "timely": 0, "limit": 0})
        f["total"] += 1
        f["timely"] += lag <= limits[r.item_id]
        f["limit"] = max(f["limit"], limits[r.item_id])
    for f in out.values():
        f["late"] = f["total"] - f["timely"]
        f["rate"] = round(f["timely"] / f["total"], 4)
    return out


def test_publicity_timeliness_equals_the_per_record_computation(reference):
    xk = CatalogItem.objects.get(code="XK")
    xk.definition = {
        **xk.definition,
        "publicity": {**xk.spec.publicity, "deadline_working_days": 5},
    }
    xk.save(update_fields=["definition"])
    generated_quarter()
    limits = {
        i.pk: int(i.spec.publicity.get("deadline_working_days", 7))
        for i in CatalogItem.objects.filter(code__in=["XK", "CF"])
    }
    assert sorted(limits.values()) == [5, 7]

    expected = per_record(limits)
    assert len(expected) == 3 and all(0 < f["timely"] < f["total"] for f in expected.values())
    assert services.publicity_timeliness(START, END, END) == expected


def test_a_quarter_and_the_year_around_it_agree_on_every_department(reference):
    generated_quarter()
    quarter = services.publicity_timeliness(START, END, END)
    year = services.publicity_timeliness(date(2026, 1, 1), date(2026, 12, 31), END)
    # The generated receipts spill a few days over the quarter: the year counts them too.
    assert all(year[d]["total"] > quarter[d]["total"] for d in quarter)
