"""双随机一公开: the draw is stratified by grade and reproducible from its seed, inspector
pairs avoid conflicts and repeats, only the drawn inspectors record results, results are
collected as records, and the problem rate per grade is counted."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent
from creditplus.errors import DomainError, Forbidden
from creditplus.records.models import CreditEvent
from creditplus.supervision import inspections
from creditplus.supervision.choices import PlanStatus
from creditplus.supervision.models import InspectorConflict, SupervisionField
from tests.conftest import client_for
from tests.factories import make_organisations, make_user

RATIOS = {"A": 0.01, "B": 0.05, "C": 0.2, "D": 1.0}


def synthetic_population(n: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    grades = rng.choice(list("ABCD"), size=n, p=[0.2, 0.5, 0.2, 0.1])
    return pl.DataFrame({"subject_id": np.arange(1, n + 1), "grade": grades})


def test_the_same_seed_draws_the_same_subjects_and_another_seed_does_not():
    population = synthetic_population(20_000)
    first = inspections.select(population, RATIOS, seed=20261127)
    assert first.equals(
        inspections.select(
            population.sample(fraction=1.0, shuffle=True, seed=3), RATIOS, seed=20261127
        )
    )
    assert not first.equals(inspections.select(population, RATIOS, seed=20261128))


def test_ratios_by_grade_hold_over_a_large_population():
    population = synthetic_population(300_000, seed=7)
    drawn = inspections.select(population, RATIOS, seed=99)
    sizes = dict(population.group_by("grade").len().iter_rows())
    got = dict(drawn.group_by("grade").len().iter_rows())
    for grade, ratio in RATIOS.items():
        assert got[grade] == math.ceil(ratio * sizes[grade])
        assert abs(got[grade] / sizes[grade] - ratio) < 0.001
    assert drawn["subject_id"].n_unique() == drawn.height  # without replacement


def test_pairs_are_two_different_inspectors_avoiding_exclusions_with_even_load():
    subjects = list(range(1, 301))
    inspectors = [11, 12, 13, 14, 15, 16]
    excluded = {s: {11, 12} for s in range(1, 51)} | {60: {13, 14, 15, 16}}
    pairs = inspections.pair(subjects, inspectors, excluded, seed=5)
    assert all(a != b for a, b in pairs.values())
    assert all(not ({a, b} & excluded.get(s, set())) for s, (a, b) in pairs.items())
    assert pairs[60] == (11, 12) or pairs[60] == (12, 11)
    load = np.bincount([i for p in pairs.values() for i in p])[11:]
    assert load.max() - load.min() <= 2
    assert pairs == inspections.pair(subjects, inspectors, excluded, seed=5)
    with pytest.raises(DomainError) as short:
        inspections.pair([1], inspectors, {1: set(inspectors[1:])}, seed=5)
    assert short.value.code == "inspectors_insufficient"


@pytest.fixture
def district(reference):
    """60 enterprises (unscored: supervised as grade B), four SCJG inspectors, an officer."""
    organisations = make_organisations(60)
    inspectors = [
        make_user(Role.INSPECTOR, "SCJG", username=f"jcy{i}", first_name=f"检查员{i}")
        for i in range(4)
    ]
    officer = make_user(Role.DEPT_OFFICER, "SCJG", username="scjg_plans")
    return organisations, inspectors, officer


def test_a_plan_draws_by_policy_records_its_seed_and_can_be_redrawn(district):
    organisations, inspectors, officer = district
    InspectorConflict.objects.create(
        inspector=inspectors[0], subject=organisations[0], reason="近亲属任职"
    )
    field = SupervisionField.objects.get(code="SCJG")
    plan = inspections.draw_plan(
        officer, field, "2026年食品经营者双随机抽查", ratios={"B": 0.5}, seed=42
    )
    assert plan.status == PlanStatus.DRAWN
    assert plan.population == 60
    assert plan.seed == 42
    drawn = list(plan.inspections.all())
    assert len(drawn) == 30  # every one is grade B (not yet evaluated): ceil(0.5 × 60)
    assert all(i.inspector_a_id != i.inspector_b_id for i in drawn)
    for i in drawn:
        if i.subject_id == organisations[0].pk:
            assert inspectors[0].pk not in (i.inspector_a_id, i.inspector_b_id)
    assert inspections.redraw_matches(plan)
    event = AuditEvent.objects.get(action="inspection.plan.draw")
    assert event.after["seed"] == "42" and event.after["drawn"] == 30


def test_nobody_inspects_the_same_subject_twice_in_a_row(district):
    _, _, officer = district
    field = SupervisionField.objects.get(code="SCJG")
    first = inspections.draw_plan(officer, field, "第一轮", ratios={"B": 1.0}, seed=1)
    second = inspections.draw_plan(officer, field, "第二轮", ratios={"B": 1.0}, seed=2)
    before = {i.subject_id: {i.inspector_a_id, i.inspector_b_id} for i in first.inspections.all()}
    for i in second.inspections.all():
        assert not ({i.inspector_a_id, i.inspector_b_id} & before[i.subject_id])


def test_only_a_drawn_inspector_records_the_result_which_is_collected(district):
    _, inspectors, officer = district
    field = SupervisionField.objects.get(code="SCJG")
    plan = inspections.draw_plan(officer, field, "住所核查", ratios={"B": 2 / 60}, seed=9)
    first, second = plan.inspections.order_by("id")
    outsider = next(u for u in inspectors if not first.inspected_by(u))
    with pytest.raises(Forbidden):
        inspections.record_result(outsider, first, result="未发现问题")
    with pytest.raises(Forbidden):
        inspections.record_result(officer, first, result="未发现问题")  # not an inspector
    drawn_inspector = first.inspector_a
    with pytest.raises(DomainError) as findings:
        inspections.record_result(drawn_inspector, first, result="发现问题已责令改正")
    assert findings.value.code == "findings_required"
    inspections.record_result(drawn_inspector, first, result="住所无法联系")
    first.refresh_from_db()
    # Recorded, awaiting review (审核): neither collected nor public yet.
    assert first.awaiting_review and first.record is None
    assert first not in inspections.public_results()
    inspections.review_result(officer, first, approve=True)
    first.refresh_from_db()
    assert first.reviewed_by and first.reviewed_at and first in inspections.public_results()
    assert first.record.item.code == "SJCC"
    assert first.record.values["SJCC_JHBH"] == plan.number
    event = CreditEvent.objects.get(record=first.record)
    assert event.rule.code == "SJCC-GENERAL-EVASION"
    with pytest.raises(DomainError):
        inspections.record_result(drawn_inspector, first, result="未发现问题")
    inspections.record_result(second.inspector_b, second, result="未发现问题")
    plan.refresh_from_db()
    assert plan.status != PlanStatus.CLOSED  # the second result still awaits review
    inspections.review_result(officer, second, approve=True)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CLOSED
    stats = {s.grade: s for s in inspections.statistics(plan.inspections.all())}
    assert (stats["B"].drawn, stats["B"].inspected, stats["B"].problems) == (2, 2, 1)
    assert stats["B"].problem_rate == 0.5
    assert stats["A"].problem_rate is None


def test_a_result_is_public_only_after_review_by_someone_other_than_its_inspectors(district):
    """审核: who reviewed and when is kept; an inspector cannot review their own result
    (even with the permission); a returned result is recorded again; each step audited."""
    from django.contrib.auth.models import Permission

    from creditplus.accounts.audit import audit_context, context_for_user

    _, _, officer = district
    field = SupervisionField.objects.get(code="SCJG")
    plan = inspections.draw_plan(officer, field, "审核测试", ratios={"B": 1 / 60}, seed=11)
    [target] = plan.inspections.all()
    inspector = target.inspector_a
    inspector.user_permissions.add(Permission.objects.get(codename="review_inspection"))
    inspector = type(inspector).objects.get(pk=inspector.pk)  # fresh permission cache
    with audit_context(context_for_user(inspector)):
        inspections.record_result(inspector, target, result="发现问题已责令改正", findings="x")
    with pytest.raises(Forbidden):
        inspections.review_result(inspector, target, approve=True)
    other_department = make_user(Role.DEPT_OFFICER, "SW", username="sw_reviewer")
    from creditplus.errors import NotFound

    with pytest.raises(NotFound):
        inspections.review_result(other_department, target, approve=True)
    with pytest.raises(DomainError) as no_reason:
        inspections.review_result(officer, target, approve=False)
    assert no_reason.value.code == "review_note_required"
    with audit_context(context_for_user(officer)):
        inspections.review_result(officer, target, approve=False, note="处理情况不完整")
    target.refresh_from_db()
    assert target.result == "" and target.review_note == "处理情况不完整"
    assert target not in inspections.public_results()
    with audit_context(context_for_user(inspector)):
        inspections.record_result(inspector, target, result="未发现问题")
    with audit_context(context_for_user(officer)):
        inspections.review_result(officer, target, approve=True, note="")
    target.refresh_from_db()
    assert target.reviewed_by == (officer.get_full_name() or officer.username)
    assert target.reviewed_at is not None and target.record is not None
    assert target in inspections.public_results()
    assert list(
        AuditEvent.objects.filter(action="inspection.review")
        .order_by("id")
        .values_list("after__review", flat=True)
    ) == ["returned", "approved"]
    with pytest.raises(DomainError) as twice:
        inspections.review_result(officer, target, approve=True)
    assert twice.value.code == "review_not_pending"


def test_the_inspection_page_shows_the_review_step(district):
    _, _, officer = district
    field = SupervisionField.objects.get(code="SCJG")
    plan = inspections.draw_plan(officer, field, "页面审核", ratios={"B": 1 / 60}, seed=12)
    [target] = plan.inspections.all()
    inspector = client_for(target.inspector_a)
    url = f"/backoffice/supervision/inspections/{target.pk}/"
    inspector.post(url, {"result": "未发现问题", "findings": ""})
    page = inspector.get(url).content.decode()
    assert "待审核" in page and 'id="review-form"' not in page
    reviewer = client_for(officer)
    page = reviewer.get(url).content.decode()
    assert 'id="review-form"' in page and "待审核" in page
    assert reviewer.get("/inspections/").content.decode().count(target.subject.name) == 0
    done = reviewer.post(url, {"step": "review", "decision": "approve", "note": ""}, follow=True)
    text = done.content.decode()
    assert "审核通过" in text and 'id="review-form"' not in text
    assert target.subject.name in reviewer.get("/inspections/").content.decode()


def test_the_inspection_api(district):
    _, inspectors, officer = district
    created = client_for(officer).post(
        "/api/v1/inspections/plans",
        {
            "field": "SCJG",
            "title": "接口抽查",
            "matter": "食品经营者监督检查",
            "ratios": {"B": 0.1},
            "seed": 7,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert plan["seed"] == "7" and len(plan["inspections"]) == 6
    assert plan["matter"] == "食品经营者监督检查"
    mine = client_for(inspectors[0]).get("/api/v1/inspections?pending=true").json()
    assert mine and all("检查员0" in i["inspectors"] for i in mine)
    target = mine[0]
    done = client_for(inspectors[0]).post(
        f"/api/v1/inspections/{target['id']}/result",
        {"result": "未发现问题"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["result"] == "未发现问题"
    assert done.json()["reviewed_at"] is None
    reviewed = client_for(officer).post(
        f"/api/v1/inspections/{target['id']}/review",
        {"approve": True},
        content_type="application/json",
    )
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"]
    # An inspector may not review (no permission), not even another's result.
    refused = client_for(inspectors[1]).post(
        f"/api/v1/inspections/{mine[1]['id']}/review",
        {"approve": True},
        content_type="application/json",
    )
    assert refused.status_code in (403, 404)
    stats = client_for(officer).get("/api/v1/inspections/statistics?field=SCJG").json()
    assert {s["grade"]: s["inspected"] for s in stats}["B"] == 1
    assert client_for(officer).get(f"/api/v1/inspections/plans/{plan['number']}").status_code == 200
    assert (
        client_for(inspectors[0])
        .post(
            "/api/v1/inspections/plans",
            {"field": "SCJG", "title": "x"},
            content_type="application/json",
        )
        .status_code
        == 403
    )
