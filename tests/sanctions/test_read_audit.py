"""Every non-public list read of the joint-punishment and monitoring areas is audited: who
looked at which tasks, cases, checks, alerts or list entries, with which filters."""

from __future__ import annotations

import pytest

from creditplus.accounts.models import AuditEvent
from tests.conftest import client_for


@pytest.mark.parametrize(
    ("url", "action"),
    [
        ("/api/v1/tasks?status=open", "sanction.tasks.query"),
        ("/api/v1/alerts", "alert.query"),
        ("/backoffice/sanctions/tasks/?status=open", "sanction.tasks.view"),
        ("/backoffice/sanctions/cases/", "sanction.cases.view"),
        ("/backoffice/sanctions/checks/", "check.list.view"),
        ("/backoffice/sanctions/alerts/", "alert.view"),
        ("/backoffice/lists/", "list.entries.view"),
    ],
)
def test_list_reads_are_audited_with_their_filters(officer, url, action):
    response = client_for(officer).get(url)
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action=action).latest("id")
    assert event.actor_id == officer.pk
    assert "rows" in event.after
    if "?" in url:
        assert event.after["query"] == url.split("?", 1)[1]
