"""Evaluation runs on the real database: full and incremental runs agree, history, grade
changes reach monitoring and credit checks, model versions are compared and activated, the
command's interface and the score API."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from creditplus.accounts.models import AuditEvent
from creditplus.errors import DomainError
from creditplus.evaluation import services
from creditplus.evaluation.choices import ModelStatus, RunMode
from creditplus.evaluation.models import EvaluationModel, Score, ScoreHistory
from creditplus.sanctions.checks import check_subject
from creditplus.sanctions.models import Alert
from creditplus.sanctions.monitoring import subscribe
from creditplus.subjects.models import Subject
from tests.conftest import client_for
from tests.lists.fixtures import ingest_penalty

TODAY = timezone.localdate()


def scores(model: EvaluationModel | None = None) -> dict[str, tuple[int, str, str]]:
    model = model or EvaluationModel.objects.active()
    return {
        s.subject.uscc: (s.score, s.grade, s.contributions)
        for s in Score.objects.filter(model=model).select_related("subject")
    }


@pytest.fixture
def fined(reference):
    """Three organisations: one with a general fine 30 days ago, one with a licence
    revocation (serious) 60 days ago, one with a warning."""
    general = ingest_penalty(1, decided=TODAY - timedelta(days=30))
    serious = ingest_penalty(
        2,
        decided=TODAY - timedelta(days=60),
        处罚类别="吊销许可证件",
        处罚内容="吊销食品经营许可证",
        暂扣或吊销证照名称及编号="食品经营许可证 JY13101150000002",
    )
    warned = ingest_penalty(3, decided=TODAY - timedelta(days=10), 处罚类别="警告", 处罚内容="警告")
    return general.subject, serious.subject, warned.subject


def test_a_full_run_scores_every_market_subject_with_explained_contributions(fined):
    general, serious, warned = fined
    run = services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    assert run.evaluated == Subject.objects.organisations().count() == 3
    assert set(run.phases) == {"extract", "features", "score", "write"}
    result = scores()
    # 750 − 15 × 0.5^(30/365.25) = 750 − 14.17 → 736, B
    assert result[general.uscc][:2] == (736, "B")
    assert json.loads(result[general.uscc][2]) == [["XZ_CF_GENERAL", 1, -14]]
    # 750 − 120 × 0.5^(60/730.5) = 750 − 113.3 → 637; the serious event caps the grade at C
    assert result[serious.uscc][:2] == (637, "C")
    # a warning 10 days ago: −3
    assert result[warned.uscc][:2] == (747, "B")
    explained = services.subject_score(serious)
    assert explained["reasons"][0]["text"] == "近36个月受到严重行政处罚1次，扣113分"
    assert explained["overrides"] == [
        {"code": "SERIOUS_12M", "text": "近12个月存在严重失信行为，等级最高为C级"}
    ]
    assert "严重失信行为满12个月后不再限制等级，达到修复条件的可申请信用修复" in explained["advice"]
    assert explained["history"] == [{"as_of": TODAY, "score": 637, "grade": "C"}]


def test_an_incremental_run_rescores_only_the_changed_subject_and_matches_a_full_run(fined):
    general, serious, warned = fined
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    first = scores()
    ingest_penalty(
        4,
        decided=TODAY - timedelta(days=5),
        统一社会信用代码=general.uscc,
        行政相对人名称=general.name,
    )
    run = services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert run.mode == RunMode.CHANGED
    assert run.evaluated == 1
    incremental = scores()
    assert incremental[serious.uscc] == first[serious.uscc]
    assert incremental[warned.uscc] == first[warned.uscc]
    assert incremental[general.uscc] != first[general.uscc]
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    assert scores() == incremental
    # history: one row per subject from the first run, one more for the changed subject
    assert ScoreHistory.objects.filter(subject=general).count() == 2
    assert ScoreHistory.objects.filter(subject=serious).count() == 1


def test_an_incremental_run_with_nothing_changed_scores_nobody(fined):
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    run = services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert run.evaluated == 0
    assert run.grades == {"A": 0, "B": 0, "C": 0, "D": 0}


def test_the_first_incremental_run_evaluates_everything(fined):
    run = services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert run.mode == RunMode.ALL
    assert run.evaluated == 3


def test_a_changed_grade_alerts_the_watching_department(
    fined, officer, django_capture_on_commit_callbacks
):
    general, _, _ = fined
    subscribe(officer, [general.uscc])
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    ingest_penalty(
        5,
        decided=TODAY - timedelta(days=3),
        统一社会信用代码=general.uscc,
        行政相对人名称=general.name,
        处罚类别="责令停产停业",
        处罚内容="责令停业整顿",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert run.grade_changes == 1
    alert = Alert.objects.get(subject=general, kind="grade_changed")
    assert alert.department == officer.department
    assert "由 B 变为 C" in alert.title


def test_credit_checks_answer_with_the_active_grade(fined, officer):
    _, serious, _ = fined
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    check = check_subject(officer, serious.uscc, "ZFCG", "政府采购供应商资格审查")
    assert check.answer["grade"] == "C"


def test_the_command_prints_a_json_summary_last(fined):
    out = StringIO()
    call_command(
        "evaluate", "--all", "--json", f"--as-of={TODAY.isoformat()}", stdout=out, stderr=StringIO()
    )
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["evaluated"] == 3
    assert summary["grades"] == {"A": 0, "B": 2, "C": 1, "D": 0}
    assert summary["seconds"] >= 0
    assert AuditEvent.objects.filter(action="evaluation.run").exists()


def test_a_candidate_model_is_compared_side_by_side_then_activated(fined, platform_admin):
    draft = EvaluationModel.objects.get(code="CPE-2027-DRAFT")
    active = EvaluationModel.objects.active()
    with pytest.raises(DomainError) as refused:
        services.activate(draft, platform_admin)
    assert refused.value.code == "evaluation_model_not_evaluated"
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    services.evaluate(mode=RunMode.ALL, model=draft, as_of=TODAY)
    result = services.compare(draft)
    assert result["subjects"] == 3
    assert sum(map(sum, result["migration"]["matrix"])) == 3
    assert result["psi_grades"] >= 0
    text = services.format_comparison(result)
    assert "PSI" in text and "等级迁移矩阵" in text
    out = StringIO()
    call_command("evaluate_compare", "CPE-2027-DRAFT", stdout=out)
    assert "等级迁移矩阵" in out.getvalue()
    services.activate(draft, platform_admin)
    active.refresh_from_db()
    assert EvaluationModel.objects.active() == draft
    assert active.status == ModelStatus.RETIRED


def test_an_evaluated_model_is_not_changed_by_a_revised_file(fined):
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    model = EvaluationModel.objects.active()
    model.definition = {**model.definition, "base": 600}  # as if the file said otherwise
    model.save()
    model.refresh_from_db()
    summary = services.load_models()
    model.refresh_from_db()
    assert model.definition["base"] == 600
    assert "保持" in summary


def test_the_score_api_explains_and_is_audited(fined, officer, window_clerk):
    _, serious, _ = fined
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    response = client_for(officer).get(f"/api/v1/subjects/{serious.uscc}/score")
    assert response.status_code == 200
    body = response.json()
    assert (body["score"], body["grade"], body["model"]) == (637, "C", "CPE-2026")
    assert body["reasons"][0]["text"] == "近36个月受到严重行政处罚1次，扣113分"
    assert body["reasons"][0]["points"] == -113
    assert body["history"][0]["score"] == 637
    assert AuditEvent.objects.filter(action="evaluation.score.query", subject=serious.uscc).exists()
    assert client_for(window_clerk).get(f"/api/v1/subjects/{serious.uscc}/score").status_code == 403
    missing = client_for(officer).get("/api/v1/subjects/91310115MA1K3BTP2X/score")
    assert missing.status_code == 404
    stats = client_for(officer).get("/api/v1/evaluation/distribution").json()
    assert stats["grades"] == {"A": 0, "B": 2, "C": 1, "D": 0}
    assert sum(b["n"] for b in stats["histogram"]) == 3


def test_a_subject_not_yet_scored_gets_a_clear_error(fined, officer):
    response = client_for(officer).get(f"/api/v1/subjects/{fined[0].uscc}/score")
    assert response.status_code == 404
    assert response.json()["code"] == "evaluation_not_scored"


def test_a_new_blacklist_entry_rescores_the_organisations_sharing_its_representative(
    proposal, officer
):
    from tests.evaluation.test_profile import (
        RELATED_USCC,
        make_organisation,
        make_person,
        publish,
        relate,
    )

    related = make_organisation(RELATED_USCC, "上海关联贸易有限公司")
    bystander = make_organisation("91310115MA1K3BTP2B", "上海无关科技有限公司")
    person = make_person()
    relate(proposal.subject, person)
    relate(related, person)
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    before = scores()
    publish(proposal, officer)  # the entry's transitions are the change
    run = services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert run.evaluated == 2  # the listed company and the one sharing its representative
    after = scores()
    assert after[bystander.uscc] == before[bystander.uscc]
    assert json.loads(after[related.uscc][2]) == [["GL_BLACK", 1, -60], ["JC_AGE", 14, 40]]
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    assert scores() == after
