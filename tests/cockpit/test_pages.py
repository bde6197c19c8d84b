"""The cockpit page: who sees it at /backoffice/, what it shows, caching and the audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation

from creditplus.accounts.models import AuditEvent
from creditplus.catalog.calendar import add_working_days
from creditplus.records.models import IngestBatch
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

COCKPIT = "/backoffice/cockpit/"


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def row(page: str, table_id: str, attr: str, value: str) -> str:
    """The ``<tr>`` of table ``table_id`` whose ``attr`` is ``value``."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert table, table_id
    found = re.search(rf'<tr {attr}="{value}">.*?</tr>', table.group(0), re.S)
    assert found, (table_id, value)
    return found.group(0)


def cells(tr: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]


def pending_row(page: str, number: str) -> str:
    found = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{number}.*?</tr>", page, re.S)
    assert found, number
    return found.group(0)


def test_urls_keep_their_names():
    assert reverse("accounts:home") == "/backoffice/"
    assert reverse("cockpit:home") == COCKPIT


def test_credit_office_sees_the_cockpit_with_hand_counted_figures(district, credit_office):
    page = html_of(client_for(credit_office).get("/backoffice/"))
    assert "<h1>驾驶舱</h1>" in page and page.count("<h1>") == 1
    assert "数据更新于" in page and 'href="?refresh=1"' in page

    # Records per department: SCJG 3 new + 1 update in 4 batches; SW 1 new in 1 batch.
    assert re.search(r'data-figure="records">4<', page)
    assert cells(row(page, "records-by-department", "data-department", "SCJG"))[:4] == [
        "区市场监管局",
        "3",
        "1",
        "4",
    ]
    assert cells(row(page, "records-by-department", "data-department", "SW"))[1:4] == [
        "1",
        "0",
        "1",
    ]
    # Quality: SW (1 of 2 rows rejected) ranks first.
    ranking = re.search(r'<table[^>]*id="quality-ranking".*?</table>', page, re.S).group(0)
    assert re.findall(r'data-department="(\w+)"', ranking) == ["SW", "SCJG"]
    assert cells(row(page, "quality-ranking", "data-department", "SW"))[:2] == ["1", "区税务局"]
    assert "50.00%" in row(page, "quality-ranking", "data-department", "SW")
    # Lists: in force, proposals, added and removed this month.
    assert cells(row(page, "list-sizes", "data-list", "YZSX"))[1:] == ["1", "0", "1", "0"]
    assert cells(row(page, "list-sizes", "data-list", "NSXY_A"))[1:] == ["0", "0", "1", "1"]
    # Measure statuses (5 / 16 / 25) and the tiles' links.
    assert re.search(r'data-figure="measures">5 / 16 / 25<', page)
    for name in (
        "records:batches",
        "records:quality",
        "lists:entries",
        "sanctions:measures",
        "sanctions:dashboard",
        "sanctions:overdue",
        "evaluation:dashboard",
        "lists:objections",
        "lists:restorations",
    ):
        assert f'href="{reverse(name)}' in page, name
    assert 'data-figure="objections">2<' in page and 'data-figure="restorations">1<' in page
    # The charts' script and data, with the tables as the accessible fallback.
    assert "vendor/echarts-5.6.0/echarts.min.js" in page and 'id="cockpit-data"' in page


def test_pending_objections_show_their_deadline_and_overdue_ones_are_marked(
    district, credit_office
):
    page = html_of(client_for(credit_office).get(COCKPIT))
    today = timezone.localdate()
    pending = pending_row(page, district.pending_objection.number)
    assert add_working_days(today, 5).isoformat() in pending
    assert 'class="overdue"' not in pending and "已逾期" not in pending
    late = pending_row(page, district.overdue_objection.number)
    assert late.startswith('<tr class="overdue">') and "已逾期" in late
    assert (today - timedelta(days=3)).isoformat() in late
    assert reverse("lists:objection", args=[district.overdue_objection.pk]) in late
    restoration = pending_row(page, district.restoration.number)
    assert add_working_days(today, 3).isoformat() in restoration and "受理" in restoration


def test_platform_admin_sees_the_cockpit_too(reference, platform_admin):
    assert "<h1>驾驶舱</h1>" in html_of(client_for(platform_admin).get("/backoffice/"))


def test_department_officer_keeps_the_ordinary_home_and_is_refused_the_cockpit(
    reference, officer, window_clerk
):
    for user in (officer, window_clerk):
        client = client_for(user)
        page = html_of(client.get("/backoffice/"))
        assert "您好" in page and "驾驶舱" not in page
        assert client.get(COCKPIT).status_code == 403
        assert client.get(COCKPIT + "?refresh=1").status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(reference):
    for url in ("/backoffice/", COCKPIT):
        response = client_for(None).get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_login_leads_the_credit_office_to_the_cockpit(client, credit_office):
    response = client.post(
        reverse("accounts:login"),
        {"username": credit_office.username, "password": "pw-Secret-123"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/backoffice/"
    assert "<h1>驾驶舱</h1>" in html_of(response)


def test_the_permission_is_held_by_the_credit_office_and_administrators_only(reference):
    holders = set(
        Group.objects.filter(
            permissions__content_type__app_label="cockpit",
            permissions__codename="view_cockpit",
        ).values_list("name", flat=True)
    )
    assert holders == {"credit_office", "platform_admin"}


def test_each_view_is_audited_as_a_non_public_read(district, credit_office):
    client = client_for(credit_office)
    before = AuditEvent.objects.filter(action="cockpit.view").count()
    client.get("/backoffice/")
    client.get(COCKPIT)  # from the cache: audited all the same
    events = AuditEvent.objects.filter(action="cockpit.view").order_by("id")
    assert events.count() == before + 2
    last = events.last()
    assert last.actor_id == credit_office.pk and last.purpose == "查看驾驶舱"
    assert last.after == {"rows": 3, "query": ""}


def test_figures_are_cached_until_the_refresh_link_is_used(district, credit_office):
    client = client_for(credit_office)
    assert 'data-figure="records">4<' in html_of(client.get(COCKPIT))
    IngestBatch.objects.filter(department__code="SW").update(accepted=0, rejected=2)
    assert 'data-figure="records">4<' in html_of(client.get(COCKPIT))
    response = client.get(COCKPIT + "?refresh=1")
    assert response.status_code == 302 and response["Location"] == COCKPIT
    assert 'data-figure="records">3<' in html_of(client.get(COCKPIT))


def test_the_cockpit_speaks_english_too(reference, credit_office):
    # The request activates English in this thread: restore the language afterwards, or
    # the following tests would reverse and render in English.
    with translation.override(translation.get_language()):
        response = client_for(credit_office).get("/en/backoffice/")
    page = html_of(response)
    assert 'lang="en"' in page and 'id="cockpit-data"' in page
