"""The joint reward and punishment API: the public measure catalog, credit checks and task
feedback by department systems with a bearer token."""

from __future__ import annotations

import json

import pytest

from creditplus.accounts.models import AuditEvent
from creditplus.accounts.services import issue_token
from creditplus.sanctions.models import CreditCheck, SanctionTask
from tests.conftest import client_for
from tests.sanctions.conftest import PROCUREMENT

pytestmark = pytest.mark.django_db


@pytest.fixture
def czj_key(reference) -> str:
    """The bearer key of 区财政局's procurement system."""
    return issue_token("CZJ", "采购系统").key


def post(path: str, body: dict, key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client_for(None).post(
        f"/api/v1{path}", data=json.dumps(body), content_type="application/json", headers=headers
    )


def get(path: str, key: str | None = None, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client_for(None).get(f"/api/v1{path}", params, headers=headers)


def test_measure_catalog_is_public(reference):
    response = get("/measures")
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {
        "implemented": 5,
        "in_progress": 16,
        "coordination": 25,
        "not_started": 21,
    }
    assert len(body["measures"]) == 67
    [procurement] = [m for m in body["measures"] if m["code"] == PROCUREMENT]
    assert procurement["departments"] == ["CZJ"] and procurement["matters"] == ["ZFCG"]
    assert "YZSX" in procurement["list_types"] and procurement["legal_basis"]
    assert procurement["trigger"] == "on_application"
    triggers = {m["code"]: m["trigger"] for m in body["measures"]}
    assert set(triggers.values()) == {"standing", "on_application"}
    assert triggers["CJ-41"] == "standing" and triggers["CJ-06"] == "on_application"


def test_check_with_a_department_token(published, czj_key):
    body = {"subject": published.subject.uscc, "matter": "ZFCG", "purpose": "供应商资格审查"}
    assert post("/checks", body).status_code == 401
    assert post("/checks", body, key="cp_not-a-real-key").status_code == 401
    response = post("/checks", body, key=czj_key)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["found"] and answer["subject"] == published.subject.uscc
    assert [x["list_type"] for x in answer["lists"]] == ["YZSX"]
    assert [m["code"] for m in answer["measures"]] == [PROCUREMENT]
    assert answer["measures"][0]["legal_basis"]
    check = CreditCheck.objects.get(pk=answer["check"])
    assert check.department.code == "CZJ" and check.token == "采购系统"
    event = AuditEvent.objects.get(action="check.subject", object_id=str(check.pk))
    assert event.token == "采购系统"
    unknown = post("/checks", {**body, "matter": "NOPE"}, key=czj_key)
    assert unknown.status_code == 400 and unknown.json()["code"] == "matter_unknown"


def test_bulk_check_and_report_use(published, czj_key):
    response = post(
        "/checks/bulk",
        {
            "subjects": [published.subject.uscc, "91310115MA1K3BTP2B", "不是代码"],
            "matter": "ZFCG",
            "purpose": "投标人资格审查",
        },
        key=czj_key,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checked"] == 3 and body["hits"] == 1
    assert [r["valid"] for r in body["results"]] == [True, True, False]
    hit = body["results"][0]
    assert [m["code"] for m in hit["measures"]] == [PROCUREMENT]

    report = post(
        f"/checks/{hit['check']}/report",
        {"outcome": "applied", "document_no": "沪浦财采〔2026〕4号"},
        key=czj_key,
    )
    assert report.status_code == 200, report.content
    assert report.json()["outcome"] == "applied"
    task = SanctionTask.objects.get(case__entry=published, measure__code=PROCUREMENT)
    assert task.status == "applied" and task.credit_check_id == hit["check"]
    again = post(f"/checks/{hit['check']}/report", {"outcome": "applied"}, key=czj_key)
    assert again.status_code == 409 and again.json()["code"] == "check_reported"
    # Another department's system never reaches the check.
    sw_key = issue_token("SW", "税务系统").key
    other = post(f"/checks/{hit['check']}/report", {"outcome": "failed"}, key=sw_key)
    assert other.status_code == 404


def test_tasks_are_scoped_to_the_token_department(procurement_task, czj_key):
    published = procurement_task.case.entry
    response = get("/tasks", key=czj_key)
    assert response.status_code == 200
    body = response.json()
    expected = SanctionTask.objects.filter(department__code="CZJ").count()
    assert body["count"] == expected > 0
    assert {t["department"] for t in body["results"]} == {"CZJ"}
    assert {t["subject"] for t in body["results"]} == {published.subject.uscc}
    assert get("/tasks", key=czj_key, status="applied").json()["count"] == 0
    [triggered] = get("/tasks", key=czj_key, origin="check").json()["results"]
    assert triggered["origin"] == "check" and triggered["measure"] == PROCUREMENT
    assert get("/tasks", key=czj_key, origin="entry").json()["count"] == 0
    assert get("/tasks", key=czj_key, origin="nope").status_code in (400, 422)
    assert get("/tasks").status_code == 401
    sw = get("/tasks", key=issue_token("SW", "税务系统").key).json()
    assert sw["count"] == 0


def test_feedback_of_a_task(procurement_task, czj_key):
    task = procurement_task
    url = f"/tasks/{task.pk}/feedback"
    missing = post(url, {"outcome": "applied"}, key=czj_key)
    assert missing.status_code == 400 and missing.json()["code"] == "applied_needs_matter"
    response = post(
        url,
        {"outcome": "applied", "matter": "zfcg", "document_no": "沪浦财采〔2026〕5号"},
        key=czj_key,
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "applied"
    assert response.json()["document_no"] == "沪浦财采〔2026〕5号"
    task.refresh_from_db()
    assert task.status == "applied" and task.matter.code == "ZFCG"
    assert post(url, {"outcome": "failed", "note": "x"}, key=czj_key).status_code == 409


def test_a_task_of_another_department_is_not_found(published, czj_key):
    other = SanctionTask.objects.exclude(department__code="CZJ").first()
    response = post(
        f"/tasks/{other.pk}/feedback", {"outcome": "not_applicable", "note": "x"}, key=czj_key
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.status == "pending"
