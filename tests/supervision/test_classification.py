"""Classification supervision (信用分类监管): the grade of the active model decides the
inspection ratio, frequency and service lane of each field, as the policy file says."""

from __future__ import annotations

import pytest

from creditplus.accounts.models import AuditEvent
from creditplus.evaluation import services as evaluation
from creditplus.lists.choices import EntryStatus
from creditplus.lists.models import ListEntry
from creditplus.supervision.models import SupervisionField
from creditplus.supervision.services import supervision_for
from tests.conftest import client_for
from tests.lists.fixtures import ingest_penalty


def test_the_policy_runs_from_strict_to_lenient_as_grades_improve(reference):
    for field in SupervisionField.objects.all():
        ratios = [field.rule(g)["ratio"] for g in "ABCD"]
        assert ratios == sorted(ratios), field.code
        assert field.rule("D")["ratio"] == 1.0
        assert field.rule("A")["lane"] == "fast"
        assert field.rule("D")["lane"] == "slow"


def test_an_unscored_subject_is_supervised_as_the_default_grade(reference):
    subject = ingest_penalty(1).subject
    result = supervision_for(subject, SupervisionField.objects.get(code="SCJG"))
    assert (result["grade"], result["grade_source"]) == ("B", "default")
    assert (result["ratio"], result["per_year"], result["lane"]) == (0.05, 1, "normal")


def test_the_grade_of_the_active_model_applies(reference):
    subject = ingest_penalty(
        1, 处罚类别="责令停产停业", 处罚内容="责令停业整顿"
    ).subject  # serious: capped at C
    evaluation.evaluate(mode="all")
    result = supervision_for(subject, SupervisionField.objects.get(code="SW"))
    assert (result["grade"], result["grade_source"]) == ("C", "evaluation")
    assert (result["ratio"], result["lane"]) == (0.15, "normal")


def test_a_blacklisted_subject_is_d_whatever_its_score(proposal):
    evaluation.evaluate(mode="all")
    # a published member of the blacklist (the lifecycle itself is tested in tests/lists)
    ListEntry.objects.filter(pk=proposal.pk).update(status=EntryStatus.PUBLISHED)
    result = supervision_for(proposal.subject, SupervisionField.objects.get(code="HG"))
    assert (result["grade"], result["grade_source"], result["lane"]) == ("D", "blacklist", "slow")


@pytest.mark.parametrize("persona", ["officer", "credit_office"])
def test_the_supervision_api_answers_and_is_audited(reference, persona, request, bank_user):
    user = request.getfixturevalue(persona)
    subject = ingest_penalty(1).subject
    response = client_for(user).get(f"/api/v1/subjects/{subject.uscc}/supervision?field=scjg")
    assert response.status_code == 200
    body = response.json()
    assert (body["field"], body["grade"], body["lane_label"]) == ("SCJG", "B", "常规办理")
    assert AuditEvent.objects.filter(action="supervision.query", subject=subject.uscc).exists()
    unknown = client_for(user).get(f"/api/v1/subjects/{subject.uscc}/supervision?field=XX")
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "field_unknown"
    assert (
        client_for(bank_user)
        .get(f"/api/v1/subjects/{subject.uscc}/supervision?field=SCJG")
        .status_code
        == 403
    )
