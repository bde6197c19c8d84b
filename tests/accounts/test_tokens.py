"""API tokens: issued once by command or page, only hashes stored, revocable, audited."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from creditplus.accounts import services
from creditplus.accounts.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db


def bearer(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_issue_token_command_prints_the_key_once_and_stores_only_its_hash(reference):
    out, err = StringIO(), StringIO()
    call_command("issue_token", "--dept", "SCJG", "--name", "执法办案系统", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert key.startswith("cp_") and len(key) > 40
    assert token.key_hash == ApiToken.hash_key(key) and key not in token.key_hash
    assert token.department.code == "SCJG" and token.user.is_system
    assert AuditEvent.objects.filter(action="token.issue", object_id=str(token.pk)).count() == 1


def test_issue_token_accepts_the_department_uscc(reference):
    out = StringIO()
    call_command(
        "issue_token",
        "--dept",
        "11310115002425387A",
        "--name",
        "系统",
        stdout=out,
        stderr=StringIO(),
    )
    assert ApiToken.objects.get().department.code == "SCJG"


def test_issue_token_for_unknown_department_fails_with_a_clear_message(reference):
    err = StringIO()
    with pytest.raises(SystemExit) as excinfo:
        call_command("issue_token", "--dept", "NOPE", "--name", "x", stdout=StringIO(), stderr=err)
    assert excinfo.value.code == 2
    assert "[not_found]" in err.getvalue() and "部门不存在" in err.getvalue()


def test_bearer_token_authenticates_as_the_department_system(reference):
    issued = services.issue_token("SCJG", "执法办案系统")
    body = bearer(issued.key).get("/api/v1/me").json()
    assert body == {
        "username": "sys.SCJG.执法办案系统",
        "roles": ["dept_officer"],
        "department": "SCJG",
    }


@pytest.mark.parametrize("header", ["Bearer cp_wrong", "Bearer ", "Token abc", ""])
def test_bad_credentials_get_401_in_the_error_shape(reference, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert set(response.json()) == {"code", "message", "field"}


def test_revoked_token_is_refused_and_revoking_twice_audits_once(reference):
    issued = services.issue_token("SCJG", "执法办案系统")
    services.revoke_token(issued.token)
    services.revoke_token(issued.token)
    assert bearer(issued.key).get("/api/v1/me").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1


def test_api_writes_are_audited_with_the_token_name(reference):
    issued = services.issue_token("SCJG", "执法办案系统")
    victim = services.issue_token("SCJG", "旧系统").token
    response = bearer(issued.key).post(f"/api/v1/tokens/{victim.pk}/revoke")
    assert response.status_code == 200 and response.json()["revoked_at"]
    event = AuditEvent.objects.get(action="token.revoke")
    assert (event.actor_name, event.department, event.token) == (
        "sys.SCJG.执法办案系统",
        "SCJG",
        "执法办案系统",
    )
    assert event.request_id == response["X-Request-ID"]


def test_token_page_shows_a_new_key_once(officer):
    client = Client()
    client.force_login(officer)
    page = client.post("/backoffice/tokens/", {"name": "监管系统"}).content.decode()
    token = ApiToken.objects.get(name="监管系统")
    assert token.prefix in page and "请立即复制保存" in page
    assert "请立即复制保存" not in client.get("/backoffice/tokens/").content.decode()


def test_invalid_query_parameters_get_the_error_shape(officer):
    client = Client()
    client.force_login(officer)
    response = client.get("/api/v1/audit/events?page_size=1000")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input" and response.json()["field"] == "page_size"


def test_a_token_with_its_user_department_and_permissions_is_read_in_one_statement(reference):
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key = services.issue_token("SCJG", "执法办案系统").key
    services.authenticate_token(key)  # marks it used: the next call writes nothing
    system = ApiToken.objects.get(name="执法办案系统").user
    own = Permission.objects.get(codename="view_auditevent")
    system.user_permissions.add(own)  # one of the user's own, beside the role's
    with CaptureQueriesContext(connection) as captured:
        token = services.authenticate_token(key)
        user = token.user
        assert user.department.code == "SCJG"
        assert user.has_perm("accounts.view_auditevent")  # own
        assert user.has_perm("records.add_ingestbatch")  # by the department officer role
        assert not user.has_perm("accounts.delete_apitoken")
    assert len(captured.captured_queries) == 1
