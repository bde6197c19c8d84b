"""我的信用: the enterprise area. Login and binding required, own objects only, objections
and restoration applications filed through the forms with real uploads."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creditplus.accounts.choices import Role
from creditplus.lists import objections, services
from creditplus.lists.models import ListEntry, Objection, Restoration
from creditplus.records.models import CreditEvent
from creditplus.subjects.models import SubjectAccount
from tests.conftest import client_for
from tests.factories import make_user
from tests.portal.test_lists_pages import DECISION_NO, publish, serious_penalty_of

pytestmark = pytest.mark.django_db


def pdf(name: str = "a.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 x", content_type="application/pdf")


def h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


@pytest.mark.parametrize(
    "url", ["/my/", "/my/lists/1/", "/my/objections/new/?record=1", "/my/restorations/1/"]
)
def test_anonymous_users_are_sent_to_login(reference, url):
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/my/login/?next=/my/")


def test_unbound_user_is_told_to_bind_at_a_window(reference, officer):
    for user in (make_user(Role.ENTERPRISE, username="unbound"), officer):
        response = client_for(user).get("/my/")
        assert response.status_code == 403
        html = response.content.decode()
        assert "服务窗口" in html and h1_count(html) == 1


def test_my_credit_shows_entries_events_records_and_notifications(proposal, officer, enterprise):
    entry = publish(proposal, officer)
    client = client_for(enterprise)
    response = client.get("/my/")
    assert response.status_code == 200
    html = response.content.decode()
    assert h1_count(html) == 1
    assert entry.list_type.name in html and f'href="/my/lists/{entry.pk}/"' in html
    event = CreditEvent.objects.get(record=entry.evidence.get(), kind="untrustworthy")
    # Too early for restoration: the button is disabled and says why, next to it.
    events = client.get("/my/?tab=events").content.decode()
    assert "尚未届满最短公示期" in events
    disabled = re.search(r'<button type="button" disabled aria-describedby="why-(\d+)">', events)
    assert disabled and disabled.group(1) == str(event.pk)
    assert f'id="why-{event.pk}"' in events
    assert f"/my/restorations/new/?event={event.pk}" not in events
    records = client.get("/my/?tab=records").content.decode()
    assert f"/my/objections/new/?record={event.record_id}" in records
    notes = client.get("/my/?tab=notifications").content.decode()
    assert "列入" in notes and "决定书" in notes  # the notification of the decision


def test_my_credit_puts_the_notice_and_its_deadline_first(proposal, officer, enterprise):
    services.send_notice(proposal, officer)
    proposal.refresh_from_db()
    html = client_for(enterprise).get("/my/?tab=notifications").content.decode()
    actions = html.index('class="my-actions')
    notice = html.index(f"请于 {proposal.response_due.isoformat()} 前提出陈述申辩或异议")
    assert actions < notice < html.index('class="tabs"') < html.index('id="notifications"')
    assert f'href="/my/lists/{proposal.pk}/"' in html[actions : html.index('class="tabs"')]


def test_my_credit_sections_are_tabs_with_counts_and_pages(serious_penalty, enterprise):
    client = client_for(enterprise)
    html = client.get("/my/?tab=records").content.decode()
    assert 'href="?tab=records#tabs" aria-current="page"' in html
    assert 'id="records"' in html and 'id="events"' not in html and 'id="lists"' not in html
    assert client.get("/my/?tab=nonsense").status_code == 200  # an unknown tab: the first one
    assert 'id="lists"' in client.get("/my/?tab=nonsense").content.decode()


def test_entry_page_and_restoration_notice(proposal, officer, enterprise):
    client = client_for(enterprise)
    assert client.get(f"/my/lists/{proposal.pk}/notice/").status_code == 404  # only proposed
    entry = publish(proposal, officer)
    html = client.get(f"/my/lists/{entry.pk}/").content.decode()
    assert DECISION_NO in html and "公示" in html and "告知" in html
    assert f"/my/objections/new/?entry={entry.pk}" in html
    notice = client.get(f"/my/lists/{entry.pk}/notice/")
    assert notice.status_code == 200
    text = notice.content.decode()
    assert f"XFGZ{entry.entry_no}" in text and DECISION_NO in text
    assert entry.restoration_from.strftime("%Y年%-m月%-d日") in text


def test_noticed_entry_shows_the_notice_text(proposal, officer, enterprise):
    services.send_notice(proposal, officer)
    proposal.refresh_from_db()
    html = client_for(enterprise).get(f"/my/lists/{proposal.pk}/").content.decode()
    assert "拟将本主体列入" in html and proposal.response_due.isoformat() in html


def test_enterprise_files_an_objection_with_a_pdf(serious_penalty, enterprise):
    client = client_for(enterprise)
    url = f"/my/objections/new/?record={serious_penalty.pk}"
    form = client.get(url)
    assert form.status_code == 200 and "multiple" in form.content.decode()
    response = client.post(
        url,
        {
            "reason": "处罚决定已被行政复议撤销",
            "contact": "021-12345678",
            "agent_name": "",
            "attachments": [pdf(), pdf("b.pdf")],
        },
    )
    objection = Objection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/my/objections/{objection.pk}/"
    assert (
        objection.record_id == serious_penalty.pk
        and objection.subject == enterprise.subject_account.subject
    )
    assert sorted(objection.attachments.values_list("name", flat=True)) == ["a.pdf", "b.pdf"]
    detail = client.get(response["Location"]).content.decode()
    assert objection.number in detail and "处理中" in detail
    assert objection.due_on.isoformat() in detail
    home = client.get("/my/").content.decode()
    assert f"异议 {objection.number} 处理中" in home  # in the overview, with its due date
    records = client.get("/my/?tab=records").content.decode()
    assert "异议处理中" in records
    # A second objection on the same record is refused on the form.
    again = client.post(url, {"reason": "再次提出", "contact": "13800000000"})
    assert again.status_code == 200 and "已有正在处理的异议" in again.content.decode()


def test_objection_form_validates_before_calling_the_service(serious_penalty, enterprise):
    response = client_for(enterprise).post(
        f"/my/objections/new/?record={serious_penalty.pk}", {"reason": "", "contact": "x"}
    )
    assert response.status_code == 200
    assert "请填写有效的联系电话" in response.content.decode()
    assert not Objection.objects.exists()


def test_too_early_restoration_shows_the_reason(serious_penalty, enterprise):
    event = CreditEvent.objects.get(record=serious_penalty, kind="untrustworthy")
    client = client_for(enterprise)
    url = f"/my/restorations/new/?event={event.pk}"
    form = client.get(url).content.decode()
    assert "本主体承诺" in form  # the commitment text above the checkbox
    response = client.post(
        url,
        {
            "statement": "已缴清罚款并完成整改",
            "contact": "13800000000",
            "commitment": "on",
            "attachments": [pdf()],
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "尚未届满最短公示期" in html and event.restoration_from.isoformat() in html
    assert not Restoration.objects.exists()


def test_restoration_requires_the_signed_commitment(serious_penalty, enterprise):
    event = CreditEvent.objects.get(record=serious_penalty, kind="untrustworthy")
    response = client_for(enterprise).post(
        f"/my/restorations/new/?event={event.pk}",
        {"statement": "已整改", "contact": "13800000000", "attachments": [pdf()]},
    )
    assert response.status_code == 200
    assert "申请信用修复须签署信用承诺书" in response.content.decode()


def test_objects_of_another_subject_are_404(serious_penalty, enterprise):
    other_record = serious_penalty_of(2)
    other_user = make_user(Role.ENTERPRISE, username="other")
    SubjectAccount.objects.create(
        user=other_user, subject=other_record.subject, verified_by="营业执照核验", bound_by="w"
    )
    theirs = objections.submit_objection(other_user, record=other_record, reason="不服")
    other_entry = ListEntry.objects.get(subject=other_record.subject)
    other_event = CreditEvent.objects.get(record=other_record, kind="untrustworthy")
    client = client_for(enterprise)
    for url in (
        f"/my/objections/{theirs.pk}/",
        f"/my/objections/new/?record={other_record.pk}",
        f"/my/objections/new/?entry={other_entry.pk}",
        f"/my/restorations/new/?event={other_event.pk}",
        f"/my/lists/{other_entry.pk}/",
        "/my/objections/new/",
    ):
        assert client.get(url).status_code == 404, url
    assert client_for(other_user).get(f"/my/objections/{theirs.pk}/").status_code == 200
