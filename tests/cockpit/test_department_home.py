"""A department's back-office home: its to-do counts with links, scoped to the department,
audited; the credit office keeps the cockpit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import AuditEvent
from creditplus.sanctions import checks
from creditplus.sanctions.models import SanctionTask
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def todo(page: str) -> dict[str, tuple[int, str]]:
    """Each to-do card's count and link, by key."""
    cards = re.findall(
        r'<a class="card" href="([^"]+)" data-todo="(\w+)">.*?<div class="figure">(\d+)</div>',
        page,
        re.S,
    )
    return {key: (int(n), url.replace("&amp;", "&")) for url, key, n in cards}


def test_a_department_officer_sees_its_to_do_counts_with_links(district, officer, other_officer):
    # 区市场监管局 (officer): the blacklist's standing task CJ-42 (信用约谈 of the legal
    # representative), made overdue; a licence check triggers CJ-06; the district's two
    # objections concern its penalty and its entry (one overdue).
    standing = SanctionTask.objects.get(case__entry=district.entry, department__code="SCJG")
    SanctionTask.objects.filter(pk=standing.pk).update(
        due_on=timezone.localdate() - timedelta(days=1)
    )
    checks.check_subject(officer, district.entry.subject.uscc, "SPXK", "食品经营许可审查")
    client = client_for(officer)
    response = client.get("/backoffice/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "区市场监管局 · 待办" in page and "驾驶舱" not in page
    cards = todo(page)
    assert cards["tasks_overdue"] == (1, "/backoffice/sanctions/tasks/?overdue=1")
    assert cards["tasks_soon"][0] == 0 and cards["tasks_later"][0] == 1  # CJ-06, due in 10 days
    assert cards["check_reports"] == (1, "/backoffice/sanctions/tasks/?status=pending&origin=check")
    assert cards["objections"] == (2, "/backoffice/lists/objections/?status=open")
    assert cards["notices"][0] == 0 and cards["commitments"][0] == 0
    # Every link leads to a page that lists exactly those rows.
    inbox = client.get(cards["check_reports"][1])
    assert [t.measure.code for t in inbox.context["page_obj"]] == ["CJ-06"]
    overdue = client.get(cards["tasks_overdue"][1])
    assert [t.pk for t in overdue.context["page_obj"]] == [standing.pk]
    assert AuditEvent.objects.filter(action="cockpit.department_home").count() == 1

    # 区税务局 (other_officer) has nothing of this to do.
    other = todo(client_for(other_officer).get("/backoffice/").content.decode())
    assert {key: n for key, (n, _url) in other.items()} == {
        "tasks_overdue": 0,
        "tasks_soon": 0,
        "tasks_later": 0,
        "check_reports": 0,
        "notices": 0,
        "objections": 0,
        "commitments": 0,
    }


def test_the_credit_office_keeps_the_cockpit_and_a_window_clerk_the_plain_home(
    reference, credit_office, window_clerk
):
    assert "<h1>驾驶舱</h1>" in client_for(credit_office).get("/backoffice/").content.decode()
    page = client_for(window_clerk).get("/backoffice/").content.decode()
    assert "您好" in page and 'data-todo="' not in page
