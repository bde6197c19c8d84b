"""``/api/v1/assessments`` and ``/api/v1/grants``: scope per caller, the grant rules (no
grant, revoked, expired → 403), the access log visible to the enterprise."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import ApiToken
from tests.assessments.conftest import COMPANY, SELF_ANSWERS
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def post(user, path: str, body: dict | None = None):
    return client_for(user).post(
        f"/api/v1{path}", data=json.dumps(body or {}), content_type="application/json"
    )


def get(user, path: str, **params):
    return client_for(user).get(f"/api/v1{path}", params)


def grant_body(bank, days: int = 30) -> dict:
    return {
        "institution": bank.uscc,
        "purpose": "科技信贷授信审批",
        "valid_until": (timezone.localdate() + timedelta(days=days)).isoformat(),
    }


def test_anonymous_callers_get_401(reference):
    for method, path in [
        ("GET", "/assessments"),
        ("POST", "/assessments"),
        ("GET", "/grants"),
        ("POST", "/grants"),
        ("GET", "/grants/report?subject=X"),
    ]:
        response = client_for(None).generic(method, f"/api/v1{path}", "{}", "application/json")
        assert response.status_code == 401, path


def test_self_and_other_assessments_are_submitted_and_listed_in_scope(
    company, enterprise, other_enterprise, assessor, credit_office
):
    own = post(enterprise, "/assessments", {"answers": SELF_ANSWERS})
    assert own.status_code == 201, own.json()
    assert own.json()["kind"] == "self" and len(own.json()["answers"]) == 15
    other = post(
        assessor,
        "/assessments",
        {"subject": company.uscc, "answers": {**SELF_ANSWERS, "G1": "no"}, "comment": "园区走访"},
    )
    assert other.status_code == 201 and other.json()["assessor_kind"] == "park"
    assert get(enterprise, "/assessments").json()["count"] == 2
    assert get(other_enterprise, "/assessments").json()["count"] == 0
    assert [a["kind"] for a in get(assessor, "/assessments").json()["results"]] == ["other"]
    assert get(credit_office, "/assessments", kind="self").json()["count"] == 1
    conflicts = get(enterprise, "/assessments/conflicts").json()
    assert [c["question"] for c in conflicts] == ["G1"]
    office = get(credit_office, "/assessments/conflicts", subject=company.uscc).json()
    assert office == conflicts
    assert get(assessor, "/assessments/conflicts", subject=company.uscc).status_code == 403
    detail = other.json()["id"]
    assert get(other_enterprise, f"/assessments/{detail}").status_code == 404


def test_an_enterprise_cannot_self_assess_another_company(enterprise, other_company):
    response = post(
        enterprise, "/assessments", {"subject": other_company.uscc, "answers": SELF_ANSWERS}
    )
    assert response.status_code == 403


def test_invalid_answers_get_the_error_shape(enterprise):
    response = post(enterprise, "/assessments", {"answers": {**SELF_ANSWERS, "G1": "maybe"}})
    assert response.status_code == 400
    assert response.json() == {
        "code": "answer_invalid",
        "message": "第 G1 题须回答是或否",
        "field": "G1",
    }


def test_grant_lifecycle_access_refusals_and_log(
    company, enterprise, other_enterprise, bank, banker, other_banker, time_machine
):
    refused = get(banker, "/grants/report", subject=company.uscc)
    assert refused.status_code == 403 and refused.json()["code"] == "grant_required"

    created = post(enterprise, "/grants", grant_body(bank, days=5))
    assert created.status_code == 201, created.json()
    grant = created.json()
    assert grant["state"] == "active" and grant["institution_name"] == "上海张江科技银行"
    assert [g["id"] for g in get(banker, "/grants").json()["results"]] == [grant["id"]]
    assert get(other_banker, "/grants").json()["count"] == 0
    assert get(other_enterprise, "/grants").json()["count"] == 0

    report = get(banker, "/grants/report", subject=company.uscc)
    assert report.status_code == 200
    body = report.json()
    assert body["content"]["subject"]["name"] == COMPANY
    assert body["verification_code"] and body["number"].startswith("XYBG")
    assert get(other_banker, "/grants/report", subject=company.uscc).json()["code"] == (
        "grant_required"
    )

    log = get(enterprise, f"/grants/{grant['id']}/accesses").json()
    assert [(a["institution"], a["action"], a["report"]) for a in log] == [
        ("上海张江科技银行", "view", body["number"])
    ]
    assert get(other_enterprise, f"/grants/{grant['id']}/accesses").status_code == 404
    assert get(banker, f"/grants/{grant['id']}/accesses").status_code == 200

    time_machine.move_to(timezone.now() + timedelta(days=6))
    expired = get(banker, "/grants/report", subject=company.uscc)
    assert expired.status_code == 403 and expired.json()["code"] == "grant_expired"


def test_revoked_grants_are_refused(company, enterprise, other_enterprise, bank, banker):
    grant = post(enterprise, "/grants", grant_body(bank)).json()
    assert post(other_enterprise, f"/grants/{grant['id']}/revoke").status_code == 404
    assert post(banker, f"/grants/{grant['id']}/revoke").status_code == 403
    revoked = post(enterprise, f"/grants/{grant['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    response = get(banker, "/grants/report", subject=company.uscc)
    assert response.status_code == 403 and response.json()["code"] == "grant_revoked"


def test_a_bank_system_reads_a_granted_report_with_its_token(company, enterprise, bank, banker):
    post(enterprise, "/grants", grant_body(bank))
    key = "cp_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=banker, name="信贷系统", prefix=key[:10], key_hash=ApiToken.hash_key(key)
    )
    response = client_for(None).get(
        "/api/v1/grants/report",
        {"subject": company.uscc},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert response.json()["content"]["title"] == "企业信用报告"
