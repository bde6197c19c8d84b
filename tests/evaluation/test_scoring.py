"""The scoring engine on hand-built inputs, checked against hand-computed numbers (no
database): points per event, decay by age, windows, caps, rounding, the grade overrides, and
the explanation text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from creditplus.errors import DomainError
from creditplus.evaluation import engine
from creditplus.evaluation.definition import parse
from creditplus.evaluation.engine import Inputs, Rule, epoch_day
from creditplus.evaluation.services import reason_text

AS_OF = date(2026, 6, 30)
RULES = {
    1: Rule("CF-GENERAL", "untrustworthy", "general"),
    2: Rule("CF-SERIOUS-SANCTION", "untrustworthy", "serious"),
    3: Rule("NSXY-A", "trustworthy", "general"),
    4: Rule("CF-MINOR-WARNING", "untrustworthy", "minor"),
}
SPEC = {
    "code": "T-1",
    "name": "测试模型",
    "base": 700,
    "grades": [
        {"grade": "A", "label": "诚信", "min": 850},
        {"grade": "B", "label": "良好", "min": 700},
        {"grade": "C", "label": "警示", "min": 550},
        {"grade": "D", "label": "失信", "min": 0},
    ],
    "overrides": [
        {
            "code": "BLACK",
            "when": {"lists": ["black"]},
            "cap": "D",
            "reason": "列入严重失信主体名单，等级最高为D级",
        },
        {
            "code": "SERIOUS_12M",
            "when": {"events": {"severity": ["serious"]}, "within_months": 12},
            "cap": "C",
            "reason": "近12个月存在严重失信行为，等级最高为C级",
        },
        {
            "code": "RED_CLEAN",
            "when": {"lists": ["red"], "no_negative_within_months": 36},
            "floor": "A",
            "reason": "守信激励且无失信，评为A级",
        },
    ],
    "dimensions": [
        {
            "code": "XZ",
            "name": "行政合规",
            "indicators": [
                {
                    "code": "PEN",
                    "source": "events",
                    "rules": ["CF-GENERAL"],
                    "window_months": 36,
                    "half_life_months": 12,
                    "points": -15,
                    "cap": -150,
                    "reason": "近{months}个月行政处罚{n}次，扣{points}分",
                },
                {
                    "code": "SERIOUS",
                    "source": "events",
                    "rules": ["CF-SERIOUS-*"],
                    "window_months": 36,
                    "points": -120,
                    "reason": "近{months}个月严重行政处罚{n}次，扣{points}分",
                },
                {
                    "code": "ARREARS",
                    "source": "records",
                    "items": ["SBQF"],
                    "measure": "amount",
                    "window_months": 12,
                    "points": -0.5,
                    "cap": -50,
                    "reason": "近{months}个月欠缴社会保险费累计{n}万元，扣{points}分",
                },
            ],
        },
        {
            "code": "JC",
            "name": "基础信息",
            "indicators": [
                {
                    "code": "AGE",
                    "source": "subject",
                    "years_established": [{"min": 10, "points": 40}, {"min": 3, "points": 10}],
                    "reason": "成立满{n}年，加{points}分",
                },
                {
                    "code": "REVOKED",
                    "source": "subject",
                    "status_in": ["吊销"],
                    "points": -200,
                    "reason": "登记状态为吊销，扣{points}分",
                },
            ],
        },
        {
            "code": "RY",
            "name": "荣誉",
            "indicators": [
                {
                    "code": "TAX_A",
                    "source": "events",
                    "rules": ["NSXY-A"],
                    "window_months": 24,
                    "points": 60,
                    "cap": 120,
                    "reason": "纳税信用A级{n}次，加{points}分",
                },
                {
                    "code": "RED",
                    "source": "lists",
                    "lists": ["red"],
                    "points": 80,
                    "reason": "列入守信激励名单，加{points}分",
                },
                {
                    "code": "REL",
                    "source": "related",
                    "lists": ["black"],
                    "points": -60,
                    "cap": -120,
                    "reason": "关联{n}家失信企业，扣{points}分",
                },
            ],
        },
    ],
}


def inputs(
    subjects: list[tuple[int, date | None, str]],
    events: list[tuple[int, int, int]] = (),
    records: list[tuple[int, str, int, float]] = (),
    lists: list[tuple[int, str]] = (),
    related: list[tuple[int, int]] = (),
) -> Inputs:
    """Subjects (id, established, status); events (subject, rule, age in days); records
    (subject, item, age in days, amount); list memberships; related organisation pairs."""
    today = epoch_day(AS_OF)
    return Inputs(
        as_of=AS_OF,
        subjects=pl.DataFrame(
            subjects,
            schema={"subject_id": pl.Int64, "established": pl.Date, "status": pl.Utf8},
            orient="row",
        ),
        events=pl.DataFrame(
            [(s, r, today - age) for s, r, age in events],
            schema={"subject_id": pl.Int64, "rule_id": pl.Int64, "day": pl.Int64},
            orient="row",
        ),
        records=pl.DataFrame(
            [(s, item, today - age, amount) for s, item, age, amount in records],
            schema={"subject_id": pl.Int64, "item": pl.Utf8, "day": pl.Int64, "amount": pl.Float64},
            orient="row",
        ),
        lists=pl.DataFrame(lists, schema={"subject_id": pl.Int64, "kind": pl.Utf8}, orient="row"),
        related=pl.DataFrame(
            related, schema={"subject_id": pl.Int64, "other_id": pl.Int64}, orient="row"
        ),
        rules=RULES,
    )


def scored(data: Inputs, spec: dict = SPEC) -> dict[int, dict]:
    frame = engine.score(parse(spec), data)
    return {
        row["subject_id"]: {**row, "contributions": json.loads(row["contributions"])}
        for row in frame.iter_rows(named=True)
    }


def test_a_subject_without_records_gets_the_base_score():
    result = scored(inputs([(1, None, "存续")]))
    assert result[1]["score"] == 700
    assert result[1]["grade"] == "B"
    assert result[1]["contributions"] == []
    assert result[1]["overrides"] == ""


def test_points_decay_by_age_with_the_half_life():
    # Three penalties aged 0, 365 and 730 days; half-life 12 months = 365.25 days:
    # 15 × (1 + 0.5^(365/365.25) + 0.5^(730/365.25)) = 15 × (1 + 0.50024 + 0.25024) = 26.26
    # → 26 points off. A fourth penalty 1,100 days ago lies outside the 36-month window
    # (it began 2023-06-30, 1,096 days before), a fifth "in the future" is ignored.
    result = scored(
        inputs(
            [(1, None, "存续")],
            events=[(1, 1, 0), (1, 1, 365), (1, 1, 730), (1, 1, 1100), (1, 1, -3)],
        )
    )
    assert result[1]["contributions"] == [["PEN", 3, -26]]
    assert result[1]["score"] == 674
    assert result[1]["grade"] == "C"


def test_the_window_boundary_is_exclusive_of_the_first_day():
    window_start = (AS_OF - date(2023, 6, 30)).days  # 36 months before AS_OF
    result = scored(
        inputs([(1, None, "")], events=[(1, 1, window_start), (1, 1, window_start - 1)])
    )
    # Only the one a day inside counts: 15 × 0.5^(1095/365.25) = 15 × 0.12535 = 1.88 → 2
    assert result[1]["contributions"] == [["PEN", 1, -2]]


def test_caps_limit_an_indicator_and_rounding_is_half_away_from_zero():
    twenty = [(1, 1, 0)] * 20  # 20 × −15 = −300, capped at −150
    result = scored(
        inputs([(1, None, ""), (2, None, "")], events=[*twenty, (2, 3, 10), (2, 3, 20), (2, 3, 30)])
    )
    assert result[1]["contributions"] == [["PEN", 20, -150]]
    assert result[1]["score"] == 550
    # Tax A three times: 3 × 60 = 180, capped at +120 → 820 (B: A needs 850)
    assert result[2]["contributions"] == [["TAX_A", 3, 120]]
    assert (result[2]["score"], result[2]["grade"]) == (820, "B")
    # 0.5 × 5 = 2.5 → 3 (half away from zero): amounts sum within their 12-month window
    arrears = scored(
        inputs(
            [(3, None, "")],
            records=[(3, "SBQF", 30, 2.0), (3, "SBQF", 60, 3.0), (3, "SBQF", 400, 99.0)],
        )
    )
    assert arrears[3]["contributions"] == [["ARREARS", 5, -3]]


def test_registration_facts_give_bands_and_status_points():
    result = scored(
        inputs(
            [
                (1, date(2016, 6, 30), "存续"),  # exactly 10 years on AS_OF → +40
                (2, date(2016, 7, 1), "存续"),  # one day short of 10 years: 9 → +10
                (3, date(2024, 1, 1), "吊销"),  # 2 years: no band; revoked −200
            ]
        )
    )
    assert result[1]["contributions"] == [["AGE", 10, 40]]
    assert result[2]["contributions"] == [["AGE", 9, 10]]
    assert result[3]["contributions"] == [["REVOKED", 1, -200]]
    assert (result[3]["score"], result[3]["grade"]) == (500, "D")


def test_a_blacklist_entry_caps_the_grade_at_d():
    # 700 + 120 (tax A twice) + 40 (age) = 860 → A by score, D because blacklisted
    result = scored(
        inputs(
            [(1, date(2010, 1, 1), "存续")],
            events=[(1, 3, 10), (1, 3, 20)],
            lists=[(1, "black")],
        )
    )
    assert result[1]["score"] == 860
    assert result[1]["base_grade"] == "A"
    assert result[1]["grade"] == "D"
    assert result[1]["overrides"] == "BLACK"


def test_a_serious_event_in_the_last_twelve_months_caps_at_c_and_not_after():
    # 700 + 120 + 40 − 120 = 740 → B by score; the serious event 200 days ago caps at C.
    recent = scored(
        inputs([(1, date(2010, 1, 1), "")], events=[(1, 3, 10), (1, 3, 20), (1, 2, 200)])
    )
    assert (recent[1]["score"], recent[1]["base_grade"], recent[1]["grade"]) == (740, "B", "C")
    assert recent[1]["overrides"] == "SERIOUS_12M"
    # The same event 400 days ago still costs its points but no longer caps the grade.
    older = scored(
        inputs([(1, date(2010, 1, 1), "")], events=[(1, 3, 10), (1, 3, 20), (1, 2, 400)])
    )
    assert (older[1]["score"], older[1]["grade"], older[1]["overrides"]) == (740, "B", "")


def test_a_redlist_entry_without_negative_events_allows_a():
    # 700 + 80 (redlist) = 780 → B by score, raised to A: no untrustworthy event in 36 months
    clean = scored(inputs([(1, None, "")], lists=[(1, "red")]))
    assert (clean[1]["score"], clean[1]["base_grade"], clean[1]["grade"]) == (780, "B", "A")
    assert clean[1]["overrides"] == "RED_CLEAN"
    # A warning 100 days ago is a negative event (though this model gives it no points):
    # the score stays 780 and the grade B.
    tainted = scored(inputs([(1, None, "")], events=[(1, 4, 100)], lists=[(1, "red")]))
    assert (tainted[1]["score"], tainted[1]["grade"], tainted[1]["overrides"]) == (780, "B", "")


def test_caps_win_over_floors():
    both = scored(inputs([(1, None, "")], lists=[(1, "red"), (1, "black")]))
    assert both[1]["grade"] == "D"
    assert both[1]["overrides"] == "RED_CLEAN,BLACK"


def test_related_blacklisted_organisations_cost_points_once_each():
    # Organisation 1 shares persons with 2 and 3 (both blacklisted) and with 4 (not):
    # 2 × −60 = −120 (the cap); pairs listed twice count once.
    result = scored(
        inputs(
            [(1, None, ""), (2, None, ""), (3, None, ""), (4, None, "")],
            lists=[(2, "black"), (3, "black")],
            related=[(1, 2), (1, 3), (1, 4), (1, 2), (2, 1), (3, 1)],
        )
    )
    assert result[1]["contributions"] == [["REL", 2, -120]]
    assert result[4]["contributions"] == []


def test_contributions_are_ordered_by_effect_and_explained_in_chinese():
    spec = parse(SPEC)
    result = scored(
        inputs(
            [(1, date(2010, 1, 1), "")],
            events=[(1, 1, 0), (1, 1, 0), (1, 1, 0), (1, 2, 500)],
        )
    )
    assert result[1]["contributions"] == [["SERIOUS", 1, -120], ["PEN", 3, -45], ["AGE", 16, 40]]
    texts = [reason_text(spec, code, n, p) for code, n, p in result[1]["contributions"]]
    assert texts == [
        "近36个月严重行政处罚1次，扣120分",
        "近36个月行政处罚3次，扣45分",
        "成立满16年，加40分",
    ]


def test_the_shipped_model_scores_a_recent_fine_as_the_file_says():
    path = (
        Path(__file__).resolve().parents[2] / "creditplus/reference_data/evaluation/CPE-2026.yaml"
    )
    definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = parse(definition)
    # One general penalty 30 days ago: 15 × 0.5^(30/365.25) = 14.17 → 14 off the base 750.
    result = scored(inputs([(1, None, "存续")], events=[(1, 1, 30)]), definition)
    assert result[1]["contributions"] == [["XZ_CF_GENERAL", 1, -14]]
    assert (result[1]["score"], result[1]["grade"]) == (736, "B")
    assert reason_text(spec, "XZ_CF_GENERAL", 1, -14) == "近36个月行政处罚1次，扣14分"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(grades=d["grades"][:3]), "A、B、C、D"),
        (lambda d: d["dimensions"][0]["indicators"][0].update(source="magic"), "来源"),
        (lambda d: d["dimensions"][0]["indicators"][0].pop("window_months"), "时间窗口"),
        (lambda d: d["dimensions"][0]["indicators"][0].update(cap=10), "方向"),
        (lambda d: d["overrides"][0].update(cap="E"), "cap 或 floor"),
        (
            lambda d: d["dimensions"][1]["indicators"].append(
                dict(d["dimensions"][1]["indicators"][0])
            ),
            "重复",
        ),
    ],
)
def test_an_invalid_model_definition_is_refused_with_a_clear_message(change, message):
    definition = json.loads(json.dumps(SPEC))
    change(definition)
    with pytest.raises(DomainError) as error:
        parse(definition)
    assert error.value.code == "evaluation_model_invalid"
    assert message in error.value.message
