"""API authentication: session writes need the CSRF token, token calls do not."""

from __future__ import annotations

import json

import pytest
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from creditplus.accounts import services as accounts
from creditplus.records.models import IngestBatch
from tests.records.files import penalty

pytestmark = pytest.mark.django_db


def _batch(batch_id: str) -> str:
    return json.dumps({"item": "CF", "batch_id": batch_id, "rows": [penalty(1)]})


def _browser(user) -> Client:
    """A browser session that enforces CSRF as a real one does (the test client skips it)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_cross_site_session_write_is_refused_with_csrf_failed(officer):
    response = _browser(officer).post(
        "/api/v1/batches", data=_batch("X-1"), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert "CSRF" in response.json()["message"]
    assert not IngestBatch.objects.filter(external_id="X-1").exists()


def test_a_session_write_with_the_csrf_token_goes_through(officer):
    client = _browser(officer)
    token = get_token(RequestFactory().get("/"))
    client.cookies["csrftoken"] = token
    response = client.post(
        "/api/v1/batches",
        data=_batch("X-2"),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content
    assert IngestBatch.objects.filter(external_id="X-2").exists()


def test_session_reads_need_no_csrf_token(officer):
    response = _browser(officer).get("/api/v1/batches")
    assert response.status_code == 200


def test_token_calls_need_no_csrf_token(reference):
    key = accounts.issue_token("SCJG", "执法办案系统").key
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post("/api/v1/batches", data=_batch("X-3"), content_type="application/json")
    assert response.status_code == 201, response.content


def test_an_anonymous_write_is_unauthenticated_not_a_csrf_failure(reference):
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/batches", data=_batch("X-4"), content_type="application/json"
    )
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
