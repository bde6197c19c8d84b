"""Role and department scope on every page and API route of the accounts app."""

from __future__ import annotations

import pytest

from creditplus.accounts import services
from tests.conftest import client_for
from tests.permissions import Protected, check

pytestmark = pytest.mark.django_db

CASES = [
    Protected("backoffice home", "GET", lambda o: "/backoffice/", "officer"),
    Protected(
        "department list",
        "GET",
        lambda o: "/backoffice/departments/",
        "officer",
        denied=["bank_user"],
    ),
    Protected(
        "token page",
        "GET",
        lambda o: "/backoffice/tokens/",
        "officer",
        denied=["window_clerk", "bank_user"],
    ),
    Protected(
        "revoke token page",
        "POST",
        lambda o: f"/backoffice/tokens/{o['token'].pk}/revoke/",
        "officer",
        denied=["window_clerk", "bank_user"],
        other_department="other_officer",
    ),
    Protected(
        "audit page",
        "GET",
        lambda o: "/backoffice/audit/",
        "officer",
        denied=["window_clerk", "bank_user"],
    ),
    Protected("me", "GET", lambda o: "/api/v1/me", "officer", api=True),
    Protected(
        "token list API",
        "GET",
        lambda o: "/api/v1/tokens",
        "officer",
        denied=["window_clerk"],
        api=True,
    ),
    Protected(
        "revoke token API",
        "POST",
        lambda o: f"/api/v1/tokens/{o['token'].pk}/revoke",
        "officer",
        denied=["window_clerk", "bank_user"],
        other_department="other_officer",
        api=True,
    ),
    Protected(
        "audit API",
        "GET",
        lambda o: "/api/v1/audit/events",
        "officer",
        denied=["window_clerk"],
        api=True,
    ),
]


@pytest.fixture
def personas(officer, other_officer, window_clerk, bank_user, credit_office):
    return {
        "officer": officer,
        "other_officer": other_officer,
        "window_clerk": window_clerk,
        "bank_user": bank_user,
        "credit_office": credit_office,
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_permission_matrix(case, personas):
    objects = {"token": services.issue_token("SCJG", "执法办案系统").token}
    check(case, personas, objects)


def test_officer_sees_only_own_department_tokens(officer, other_officer):
    own = services.issue_token("SCJG", "执法办案系统").token
    services.issue_token("SW", "征管系统")
    response = client_for(officer).get("/api/v1/tokens")
    assert [t["id"] for t in response.json()] == [own.pk]
    page = client_for(officer).get("/backoffice/tokens/").content.decode()
    assert "执法办案系统" in page and "征管系统" not in page


def test_credit_office_sees_every_department_token(credit_office):
    services.issue_token("SCJG", "执法办案系统")
    services.issue_token("SW", "征管系统")
    assert len(client_for(credit_office).get("/api/v1/tokens").json()) == 2


def test_officer_sees_only_own_department_audit_events(officer, other_officer):
    client_for(officer).post("/backoffice/tokens/", {"name": "我的系统"})
    client_for(other_officer).post("/backoffice/tokens/", {"name": "别人的系统"})
    events = client_for(officer).get("/api/v1/audit/events").json()
    assert events and {e["department"] for e in events} == {"SCJG"}
    assert all("别人的系统" not in e["object_repr"] for e in events)


def test_officer_can_only_issue_tokens_for_own_department(officer):
    response = client_for(officer).post(
        "/backoffice/tokens/", {"name": "我的系统", "department": "999"}
    )
    assert response.status_code == 200
    token = officer.department.api_tokens.get()
    assert token.name == "我的系统"


def test_system_accounts_cannot_open_pages(reference):
    issued = services.issue_token("SCJG", "接口")
    response = client_for(issued.token.user).get("/backoffice/")
    assert response.status_code == 403


def test_public_reaches_only_public_pages(reference):
    anonymous = client_for(None)
    assert anonymous.get("/").status_code == 200
    assert anonymous.get("/api/v1/departments").status_code == 200
    for url in ["/backoffice/", "/backoffice/tokens/", "/backoffice/audit/", "/admin/"]:
        response = anonymous.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url
