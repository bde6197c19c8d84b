"""API under /api/v1/integrity: periods, scores and ranking (department-scoped), entry."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from creditplus.accounts.models import AuditEvent
from creditplus.integrity import services
from tests.conftest import client_for
from tests.integrity.conftest import AS_OF, PERIOD

pytestmark = pytest.mark.django_db


@pytest.fixture
def period(seeded):
    period = services.ensure_period(PERIOD)
    services.compute_period(period, as_of=AS_OF)
    return period


def post_score(client, **body):
    payload = {
        "department": "SW",
        "indicator": "LJX_GZMY",
        "points": 60,
        "evidence": "满意度调查报告",
    }
    payload.update(body)
    return client.post(
        f"/api/v1/integrity/periods/{PERIOD}/assessor-scores",
        data=json.dumps(payload),
        content_type="application/json",
    )


def test_anonymous_callers_get_401(period):
    client = Client()
    for url in (
        "/api/v1/integrity/periods",
        f"/api/v1/integrity/periods/{PERIOD}/scores",
        f"/api/v1/integrity/periods/{PERIOD}/ranking",
    ):
        assert client.get(url).status_code == 401, url
    assert post_score(client).status_code == 401


def test_periods_list(period, assessor):
    body = client_for(assessor).get("/api/v1/integrity/periods").json()
    assert [p["code"] for p in body] == [PERIOD] and body[0]["kind"] == "quarter"


def test_scores_are_department_scoped(period, officer, credit_office):
    own = client_for(officer).get(f"/api/v1/integrity/periods/{PERIOD}/scores").json()
    assert [d["department"] for d in own] == ["SCJG"]
    # 廉洁性 pending: a provisional total, without a rank.
    assert own[0]["total"] == "48.15" and own[0]["rank"] is None and not own[0]["complete"]
    indicators = {i["code"]: i for i in own[0]["indicators"]}
    assert indicators["ZXL_YYDF"]["figures"]["total"] == 3
    assert indicators["LJX_LZFX"]["status"] == "pending"
    everything = client_for(credit_office).get(f"/api/v1/integrity/periods/{PERIOD}/scores").json()
    assert len(everything) == services.assessed_departments().count()
    assert AuditEvent.objects.filter(action="integrity.scores.query").count() == 2


def test_ranking_and_an_assessor_score_through_the_api(period, credit_office, assessor, officer):
    def top_two():
        rows = client_for(credit_office).get(f"/api/v1/integrity/periods/{PERIOD}/ranking").json()
        return [r["department"] for r in rows if r["department"] in ("SCJG", "SW")]

    assert top_two() == ["SW", "SCJG"]
    client = client_for(assessor)
    for department, indicator, points in (
        ("SCJG", "LJX_LZFX", 100),
        ("SCJG", "LJX_GZMY", 100),
        ("SW", "LJX_LZFX", 0),
        ("SW", "LJX_GZMY", 0),
    ):
        response = post_score(client, department=department, indicator=indicator, points=points)
        assert response.status_code == 200, response.json()
    assert top_two() == ["SCJG", "SW"]
    # Refusals: no permission, a computed indicator, out of range, unknown department.
    assert post_score(client_for(officer)).status_code == 403
    assert post_score(client, indicator="TMD_GSJS").json()["code"] == "indicator_computed"
    assert post_score(client, points=120).status_code == 422
    assert post_score(client, department="NOPE").status_code == 404
    # The assessor does not see department scores.
    assert client.get(f"/api/v1/integrity/periods/{PERIOD}/ranking").status_code == 403


def test_unknown_period_is_404(reference, credit_office):
    assert (
        client_for(credit_office).get("/api/v1/integrity/periods/2020Q1/ranking").status_code == 404
    )
