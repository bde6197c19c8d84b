"""Bad input never gives a server error, and a server error keeps the API's error shape.

Findings of an outside probe: a NUL in the search text, page numbers past any bound, and an
HTML 500 page in production mode.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from creditplus.accounts import services as accounts
from tests.conftest import client_for
from tests.factories import make_organisations

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


@pytest.mark.parametrize("q", ["abc\x00", "\x00\x00\x00", "企业\x00名称"])
def test_a_nul_in_the_search_text_is_a_clear_400(reference, q):
    make_organisations(3)
    response = Client().get("/api/v1/subjects", {"q": q})
    assert response.status_code == 400
    assert response.json() == {
        "code": "nul_character",
        "message": response.json()["message"],
        "field": "q",
    }
    assert "空字符" in response.json()["message"]


def test_a_nul_in_the_public_search_page_is_a_clear_400(reference):
    response = Client().get("/search", {"q": "abc\x00"})
    assert response.status_code == 400
    assert "空字符" in response.content.decode()


def test_a_nul_in_a_json_body_is_refused_before_it_reaches_the_database(reference):
    key = accounts.issue_token("SCJG", "执法办案系统").key
    body = json.dumps({"item": "CF", "batch_id": "N\x00", "rows": [{"CF_WSH": "x"}]})
    assert "\\u0000" in body
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/v1/batches", data=body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "nul_character"


def test_an_escaped_backslash_before_u0000_is_no_nul(reference):
    key = accounts.issue_token("SCJG", "执法办案系统").key
    body = json.dumps({"item": "CF", "batch_id": "N\\u0000", "rows": []})
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/v1/batches", data=body, content_type="application/json"
    )
    assert response.json()["code"] == "invalid_input"  # empty rows, not a NUL


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tasks",
        "/api/v1/commitments",
        "/api/v1/inspections",
        "/api/v1/alerts",
        "/api/v1/permit-notices",
        "/api/v1/batches",
        "/api/v1/audit/events",
    ],
)
def test_a_page_number_past_the_bound_is_invalid_input(credit_office, url):
    response = client_for(credit_office).get(url, {"page": HUGE})
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_input" and response.json()["field"] == "page"


def test_a_page_number_past_the_bound_of_a_batchs_errors(reference):
    key = accounts.issue_token("SCJG", "执法办案系统").key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    created = client.post(
        "/api/v1/batches",
        data=json.dumps({"item": "CF", "batch_id": "P-1", "rows": [{"CF_WSH": "x"}]}),
        content_type="application/json",
    ).json()
    response = client.get(f"/api/v1/batches/{created['batch']}/errors", {"page": HUGE})
    assert response.status_code == 422 and response.json()["field"] == "page"
    assert client.get(f"/api/v1/batches/{created['batch']}/errors").status_code == 200


def test_a_server_error_in_production_mode_keeps_the_json_error_shape(
    reference, settings, monkeypatch
):
    """A bug (here: a catalogue query that breaks) must not answer an API client with
    Django's HTML error page."""
    from creditplus.catalog import api as catalog_api

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    settings.DEBUG = False
    monkeypatch.setattr(catalog_api.CatalogItem.objects, "active", broken)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/catalog/items", HTTP_X_REQUEST_ID="probe-request-1")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "server_error" and body["field"] is None
    assert "probe-request-1" in body["message"] and "simulated" not in body["message"]
