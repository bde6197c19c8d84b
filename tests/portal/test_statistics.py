"""The home page's 双公示 counts, kept incrementally, equal a full recount of the records in
publicity, day after day: additions, corrections, retractions, restorations, expiries by end
date and by the behavior list's period, a natural person's penalty — and a run recounts only
the subjects that changed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

from creditplus.portal import public
from creditplus.portal.models import PublicityTally, SubjectPublicity
from creditplus.records import disclosure
from creditplus.records.services import correct_record, restore_event, retract_record
from tests.records.files import ORG_USCC
from tests.records.test_disclosure import cf, xk

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2026, 3, 2)


def at(day: date, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


def recount(today: date) -> dict[str, int]:
    return {
        "licenses": disclosure.dual_records(disclosure.LICENSE, today=today).count(),
        "penalties": disclosure.dual_records(disclosure.PENALTY, today=today).count(),
    }


def refreshed(today: date) -> tuple[dict[str, int], int]:
    cache.clear()
    snapshot = public.refresh_statistics()
    assert public.home_statistics()["dual"] == snapshot.figures["dual"]
    return snapshot.figures["dual"], snapshot.subjects_recounted


def test_incremental_counts_equal_a_full_recount_over_several_days(reference):
    with at(DAY1):
        general = cf("沪浦市监处〔2026〕1号")  # 5万元: public until its behavior period ends
        cf("沪浦市监处〔2026〕2号", 处罚类别="警告", 处罚内容="警告", **{"罚款金额(万元)": ""})
        soon = cf("沪浦市监处〔2026〕3号", uscc=ORG_USCC[2], 公示截止期="2026-03-04")
        old = cf("沪浦市监处〔2025〕4号", decided=DAY1 - timedelta(days=360), uscc=ORG_USCC[3])
        xk("沪浦市监许〔2026〕1号")
        short = xk("沪浦市监许〔2026〕2号", 有效期至="2026-03-03")
        counts, recounted = refreshed(DAY1)
        assert counts == recount(DAY1) == {"licenses": 2, "penalties": 3}
        assert recounted == SubjectPublicity.objects.count() == 3
        assert old.events.get().publish_until < DAY1 + timedelta(days=10)

    day2 = DAY1 + timedelta(days=1)
    with at(day2):
        counts, recounted = refreshed(day2)  # nothing changed: nobody recounted
        assert counts == recount(day2) and recounted == 0
        correct_record(short, {"XK_YXQZI": "2026-12-31"}, "有效期更正")
        retract_record(soon, "决定已撤销")
        restore_event(general.events.get(), "已整改")
        counts, recounted = refreshed(day2)
        assert counts == recount(day2) == {"licenses": 2, "penalties": 1}
        assert recounted == 2  # the two subjects of the three changes

    for offset in (3, 5, 9, 12):  # expiries alone, no run in between
        day = DAY1 + timedelta(days=offset)
        with at(day):
            if offset == 5:
                cf("沪浦市监处〔2026〕9号", uscc=ORG_USCC[2])
            counts, _n = refreshed(day)
            assert counts == recount(day), day
    assert recount(DAY1 + timedelta(days=12))["penalties"] == 1  # the old one expired


def test_a_first_run_counts_everything_and_later_runs_only_what_changed(reference):
    with at(DAY1):
        cf("沪浦市监处〔2026〕21号")
        cf("沪浦市监处〔2026〕22号", uscc=ORG_USCC[2])
        assert refreshed(DAY1) == ({"licenses": 0, "penalties": 2}, 2)
    # Later than the margin: the next run reads only the subject changed since.
    with at(DAY1, hour=12):
        cf("沪浦市监处〔2026〕23号", uscc=ORG_USCC[2])
        assert refreshed(DAY1) == ({"licenses": 0, "penalties": 3}, 1)
        assert sum(PublicityTally.objects.values_list("n", flat=True)) == 3


def test_an_evaluation_trimming_the_change_log_keeps_what_the_statistics_have_not_read(
    reference,
):
    from creditplus.evaluation.choices import RunMode
    from creditplus.evaluation.services import evaluate
    from creditplus.subjects.models import SubjectChange

    with at(DAY1):
        cf("沪浦市监处〔2026〕1号")
        refreshed(DAY1)
        evaluate(mode=RunMode.ALL, as_of=DAY1)
    day2 = DAY1 + timedelta(days=1)
    with at(day2):
        xk("沪浦市监许〔2026〕1号", uscc=ORG_USCC[2])  # a change the statistics have not read
    with at(day2, hour=12):
        evaluate(mode=RunMode.CHANGED, as_of=day2)  # evaluation has read it: it may trim
        assert SubjectChange.objects.exists()  # … but the home statistics have not
        counts, recounted = refreshed(day2)
        assert counts == recount(day2) == {"licenses": 1, "penalties": 1}
        assert recounted >= 1
    with at(day2 + timedelta(days=1)):
        evaluate(mode=RunMode.CHANGED, as_of=day2 + timedelta(days=1))
        refreshed(day2 + timedelta(days=1))
        assert not SubjectChange.objects.exists()  # every reader has read it: trimmed
