"""GET /api/v1/subjects/{code}/lists: memberships and open proposals, government only."""

from __future__ import annotations

import pytest

from creditplus.accounts.models import AuditEvent
from creditplus.accounts.services import issue_token
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_memberships_and_proposals_of_a_subject(proposal, other_officer):
    client = client_for(other_officer)  # shared among departments, not department-scoped
    response = client.get(f"/api/v1/subjects/{proposal.subject.uscc}/lists")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == proposal.subject.uscc
    [entry] = [e for e in body["entries"] if e["list_type"] == "YZSX"]
    assert entry["status"] == "proposed" and entry["status_label"] == "待告知"
    assert entry["basis"] and entry["since"] and entry["publish_until"] is None
    assert AuditEvent.objects.filter(action="list.query", subject=proposal.subject.uscc).exists()


def test_bearer_token_of_a_department_system(proposal):
    token = issue_token("SW", "税务业务系统")
    client = client_for(None)
    url = f"/api/v1/subjects/{proposal.subject.uscc}/lists"
    assert client.get(url).status_code == 401
    response = client.get(url, headers={"Authorization": f"Bearer {token.key}"})
    assert response.status_code == 200
    assert [e["list_type"] for e in response.json()["entries"]].count("YZSX") == 1
    event = AuditEvent.objects.filter(action="list.query").latest("id")
    assert event.token == "税务业务系统" and event.department == "SW"
    assert client.get("/api/v1/subjects/91310115MA1K3BTP2B/lists").status_code == 401


def test_unknown_subject_and_roles_without_the_permission(
    proposal, window_clerk, bank_user, credit_office
):
    assert (
        client_for(proposal and window_clerk)
        .get(f"/api/v1/subjects/{proposal.subject.uscc}/lists")
        .status_code
        == 403
    )
    assert client_for(bank_user).get("/api/v1/subjects/91310115MA1K3BTP2B/lists").status_code == 403
