"""A token-authenticated API call takes the short middleware chain (TOKEN_API_MIDDLEWARE):
no session, CSRF, locale, messages, login throttling, CSP or frame options — and still the
security headers, request id, audit context, NUL check and default language."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, override_settings

from creditplus.accounts import audit
from creditplus.accounts import services as accounts
from creditplus.records.models import IngestBatch
from tests.records.files import penalty

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(reference) -> str:
    return accounts.issue_token("SCJG", "执法办案系统").key


def _submit(client: Client, key: str, batch_id: str, **extra):
    body = json.dumps({"item": "CF", "batch_id": batch_id, "rows": [penalty(1)]})
    return client.post(
        "/api/v1/batches",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **extra,
    )


def test_a_token_call_skips_the_browser_middleware_but_keeps_the_api_headers(key):
    response = _submit(Client(), key, "T-1")
    assert response.status_code == 201, response.content
    # no CSP, frame options, session cookie or Vary: Cookie — those serve browsers
    assert "Content-Security-Policy" not in response.headers
    assert "X-Frame-Options" not in response.headers
    assert "sessionid" not in response.cookies and "Cookie" not in response.get("Vary", "")
    # what the short chain keeps: security headers, request id, Content-Length
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.headers["X-Request-ID"]) >= 8
    assert int(response.headers["Content-Length"]) == len(response.content)
    # the write was audited as the token's system account, with the request's id
    event = audit.AuditEvent.objects.filter(request_id=response.headers["X-Request-ID"]).get()
    assert event.token == "执法办案系统"


def test_pages_and_session_api_calls_keep_the_full_chain(officer):
    client = Client()
    client.force_login(officer)
    page = client.get("/backoffice/")
    assert "Content-Security-Policy" in page.headers and "X-Frame-Options" in page.headers
    api = client.get("/api/v1/batches")
    assert api.status_code == 200 and "Content-Security-Policy" in api.headers


def test_a_token_call_is_answered_in_chinese_whatever_language_the_thread_had(key):
    client = Client()
    assert client.get("/en/").status_code == 200  # activates English in this thread
    response = client.post(
        "/api/v1/checks",
        data=json.dumps({"subject": "91310115MA1K3BTP2B", "matter": "NOPE", "purpose": "测试"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code in (400, 403), response.content
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["message"])


def test_a_bad_token_is_refused_even_with_a_session_cookie(officer):
    client = Client()
    client.force_login(officer)
    response = _submit(client, "cp_not-a-real-token", "T-2")
    assert response.status_code == 401
    assert not IngestBatch.objects.filter(external_id="T-2").exists()


def test_a_token_sent_to_a_public_route_is_served_as_anonymous(key):
    response = Client().get("/api/v1/measures", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and response.json()["measures"]
    response = Client().get("/api/v1/subjects?q=浦东", HTTP_AUTHORIZATION="Bearer cp_wrong")
    assert response.status_code == 200


def test_a_token_call_leaves_no_audit_context_behind(key):
    assert _submit(Client(), key, "T-3").status_code == 201
    assert audit.current_context() == audit.AuditContext()


def test_a_token_call_with_a_nul_character_is_refused(key):
    body = '{"item": "CF", "batch_id": "T-\\u0000", "rows": []}'
    response = Client().post(
        "/api/v1/batches",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400 and response.json()["code"] == "nul_character"


def test_the_chain_end_must_be_configured(settings):
    middleware = [m for m in settings.MIDDLEWARE if not m.endswith("TokenApiEnd")]
    with override_settings(MIDDLEWARE=middleware), pytest.raises(ImproperlyConfigured):
        WSGIHandler()


def test_token_middleware_with_view_hooks_is_refused(settings):
    bad = [*settings.TOKEN_API_MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]
    with override_settings(TOKEN_API_MIDDLEWARE=bad), pytest.raises(ImproperlyConfigured):
        WSGIHandler()
