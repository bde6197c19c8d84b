"""The list back office through its pages: scope, export, the lifecycle actions, objection
answers, restoration handling and evidence downloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from creditplus.accounts.audit import audit_context, context_for_user
from creditplus.accounts.models import AuditEvent
from creditplus.lists import objections, restorations
from creditplus.lists.forms import AnswerForm
from creditplus.lists.models import ListEntry, Objection, Restoration
from creditplus.records.models import CreditRecord
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files go to a throwaway directory."""
    settings.MEDIA_ROOT = tmp_path


def pdf(name: str = "a.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 x", content_type="application/pdf")


def entry_url(entry: ListEntry) -> str:
    return reverse("lists:entry", args=[entry.pk])


def action_url(entry: ListEntry, action: str) -> str:
    return reverse("lists:entry_action", args=[entry.pk, action])


def include(entry: ListEntry, officer, decision_no: str = "沪浦市监信〔2025〕7号") -> ListEntry:
    """Notice and decide through the pages, the response period moved into the past."""
    client = client_for(officer)
    assert client.post(action_url(entry, "notice")).status_code == 302
    ListEntry.objects.filter(pk=entry.pk).update(
        response_due=timezone.localdate() - timedelta(days=1)
    )
    response = client.post(
        action_url(entry, "decide"), {"decision": "include", "decision_no": decision_no}
    )
    assert response.status_code == 302, response.content.decode()
    entry.refresh_from_db()
    return entry


def test_entry_list_and_detail_are_scoped(proposal, officer, other_officer, credit_office):
    name = proposal.subject.name
    for user in (officer, credit_office):
        response = client_for(user).get(reverse("lists:entries"))
        assert response.status_code == 200 and name in response.content.decode()
    other = client_for(other_officer)
    assert name not in other.get(reverse("lists:entries")).content.decode()
    assert other.get(entry_url(proposal)).status_code == 404
    page = client_for(officer).get(entry_url(proposal)).content.decode()
    assert "待告知" in page and proposal.evidence.get().natural_key in page
    assert "发送告知" in page  # the deciding department sees the notice form
    assert "发送告知" not in client_for(credit_office).get(entry_url(proposal)).content.decode()


def test_window_clerk_gets_403_on_the_list_pages(proposal, window_clerk):
    client = client_for(window_clerk)
    for name in ("lists:entries", "lists:types", "lists:objections", "lists:restorations"):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.get(entry_url(proposal)).status_code == 403


def test_filters_status_chips_and_csv_export(proposal, officer):
    client = client_for(officer)
    page = client.get(reverse("lists:entries"), {"q": proposal.subject.uscc}).content.decode()
    assert proposal.subject.name in page and "待告知 <strong>1</strong>" in page
    empty = client.get(reverse("lists:entries"), {"status": "published"}).content.decode()
    assert proposal.subject.name not in empty

    response = client.get(reverse("lists:entries"), {"format": "csv", "status": "proposed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("名单编号,名单,名单类别,信用主体")
    assert proposal.subject.name in text and proposal.entry_no in text
    export = AuditEvent.objects.get(action="list.export")
    assert export.after["rows"] == 1 and export.actor_name == officer.username


def test_notice_then_decide_then_restoration_notice(proposal, officer):
    client = client_for(officer)
    response = client.post(action_url(proposal, "notice"), follow=True)
    assert "已告知当事人" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "noticed" and proposal.response_due

    # Within the response period the decision is refused, with the reason on the form.
    early = client.post(action_url(proposal, "decide"), {"decision": "include", "decision_no": "X"})
    assert early.status_code == 200 and "期满后方可作出认定决定" in early.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "noticed"

    ListEntry.objects.filter(pk=proposal.pk).update(
        response_due=timezone.localdate() - timedelta(days=1)
    )
    missing_no = client.post(action_url(proposal, "decide"), {"decision": "include"})
    assert "请填写认定决定书文号" in missing_no.content.decode()
    response = client.post(
        action_url(proposal, "decide"),
        {"decision": "include", "decision_no": "沪浦市监信〔2025〕8号"},
        follow=True,
    )
    page = response.content.decode()
    assert "已认定" in page and "沪浦市监信〔2025〕8号" in page and "公示" in page
    proposal.refresh_from_db()
    assert proposal.status == "included" and proposal.restoration_from

    notice = client.get(reverse("lists:restoration_notice", args=[proposal.pk]))
    text = notice.content.decode()
    assert notice.status_code == 200
    assert "沪浦市监信〔2025〕8号" in text and f"XFGZ{proposal.pk:08d}" in text
    assert proposal.restoration_from.isoformat() in text and "我的信用" in text
    assert "信用修复申请受理期限" in text

    response = client.post(action_url(proposal, "publish"), follow=True)
    assert "公示中" in response.content.decode()
    response = client.post(action_url(proposal, "remove"), {"note": ""})
    assert response.status_code == 200 and "这个字段是必填项" in response.content.decode()
    client.post(action_url(proposal, "remove"), {"note": "处罚决定被撤销"})
    proposal.refresh_from_db()
    assert proposal.status == "removed" and proposal.end_reason == "revoked"
    assert list(proposal.timeline.values_list("action", flat=True)) == [
        "propose",
        "notice",
        "include",
        "publish",
        "remove",
    ]


def test_restoration_notice_needs_a_decision(proposal, officer):
    response = client_for(officer).get(reverse("lists:restoration_notice", args=[proposal.pk]))
    assert response.status_code == 404


def test_other_department_and_credit_office_cannot_act(
    proposal, other_officer, credit_office, officer
):
    assert client_for(other_officer).post(action_url(proposal, "notice")).status_code == 404
    assert client_for(credit_office).post(action_url(proposal, "notice")).status_code == 403
    assert client_for(officer).get(action_url(proposal, "notice")).status_code == 405
    assert client_for(officer).post(action_url(proposal, "nonsense")).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == "proposed" and proposal.timeline.count() == 1


def test_action_forms_need_csrf(proposal, officer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    assert client.post(action_url(proposal, "notice")).status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_propose_page_looks_up_the_subject_and_proposes(serious_penalty, officer):
    client = client_for(officer)
    uscc = serious_penalty.subject.uscc
    lookup = client.post(reverse("lists:propose"), {"uscc": uscc, "lookup": "1"})
    page = lookup.content.decode()
    assert lookup.status_code == 200 and serious_penalty.natural_key in page
    assert "这个字段是必填项" not in page
    from creditplus.lists.models import ListType

    data = {
        "uscc": uscc,
        "reason": "多次违法",
        "basis": "《上海市社会信用条例》第三十一条",
        "evidence": [serious_penalty.pk],
    }
    duplicate = client.post(
        reverse("lists:propose"), {**data, "list_type": ListType.objects.get(code="YZSX").pk}
    )
    assert "该主体已在此名单中" in duplicate.content.decode()
    watch = ListType.objects.get(code="ZDGZ")
    response = client.post(reverse("lists:propose"), {**data, "list_type": watch.pk})
    entry = ListEntry.objects.get(list_type=watch, subject=serious_penalty.subject)
    assert response.status_code == 302 and response["Location"] == entry_url(entry)
    assert entry.origin == "manual" and list(entry.evidence.all()) == [serious_penalty]


def test_propose_lookup_needs_no_reason_and_offers_only_fitting_evidence(serious_penalty, officer):
    """The lookup step is not blocked by the empty 认定事由/认定依据 (no browser validation on
    it), and once a list is chosen only records whose behavior fits its criteria are offered:
    a 行政许可 is no evidence for 重点关注名单."""
    from creditplus.lists.models import ListType
    from tests.opendata.helpers import collect, license_row

    license = collect("XK", license_row(1))
    assert license.subject == serious_penalty.subject
    client = client_for(officer)
    page = client.get(reverse("lists:propose")).content.decode()
    button = page[page.index('name="lookup"') - 80 : page.index('name="lookup"') + 120]
    assert "formnovalidate" in button
    watch = ListType.objects.get(code="ZDGZ")
    lookup = client.post(
        reverse("lists:propose"),
        {"uscc": serious_penalty.subject.uscc, "list_type": watch.pk, "lookup": "1"},
    )
    text = lookup.content.decode()
    choices = list(lookup.context["form"].fields["evidence"].queryset)
    assert choices == [serious_penalty]
    assert "失信行为·严重" in text and watch.criteria[:10] in text
    assert "另有 1 条记录不符合该名单的认定标准" in text
    # Posting the license anyway is refused with the reason.
    refused = client.post(
        reverse("lists:propose"),
        {
            "uscc": serious_penalty.subject.uscc,
            "list_type": watch.pk,
            "reason": "多次违法",
            "basis": "《上海市社会信用条例》第三十一条",
            "evidence": [license.pk],
        },
    )
    assert refused.status_code == 200 and not ListEntry.objects.filter(list_type=watch).exists()


def test_the_service_refuses_evidence_that_does_not_fit_the_list(serious_penalty, officer):
    from creditplus.errors import DomainError
    from creditplus.lists import services
    from creditplus.lists.models import ListType
    from tests.opendata.helpers import collect, license_row

    license = collect("XK", license_row(1))
    with pytest.raises(DomainError) as refused:
        services.propose_entry(
            officer,
            ListType.objects.get(code="ZDGZ"),
            serious_penalty.subject,
            reason="多次违法",
            basis="《上海市社会信用条例》第三十一条",
            evidence=[license, serious_penalty],
        )
    assert refused.value.code == "evidence_not_eligible"
    assert "一般及以上失信行为" in str(refused.value.message)
    assert f"#{license.pk} 行政许可" in str(refused.value.message)


def test_propose_refuses_unknown_uscc_and_foreign_evidence(serious_penalty, officer):
    other = CreditRecord.objects.exclude(subject=serious_penalty.subject).first()
    response = client_for(officer).post(
        reverse("lists:propose"),
        {
            "list_type": 1,
            "uscc": "91310000000000000X",
            "reason": "x",
            "basis": "y",
            "evidence": [other.pk if other else 999999],
        },
    )
    assert "未找到该统一社会信用代码对应的信用主体" in response.content.decode()


def test_types_page_lists_criteria(officer):
    page = client_for(officer).get(reverse("lists:types")).content.decode()
    assert "严重失信主体名单" in page and "失信被执行人名单" in page and "认定标准" in page


def test_objection_to_an_entry_is_answered_on_its_page(
    proposal, officer, other_officer, enterprise
):
    objection = objections.submit_objection(
        enterprise, entry=proposal, reason="处罚已被行政复议撤销", files=[pdf()]
    )
    url = reverse("lists:objection", args=[objection.pk])
    client = client_for(officer)
    assert objection.number in client.get(reverse("lists:objections")).content.decode()
    page = client.get(url).content.decode()
    assert "处罚已被行政复议撤销" in page and "异议不成立" in page and "已更正" not in page
    assert client_for(other_officer).get(url).status_code == 404
    assert client_for(other_officer).post(url, {"outcome": "confirmed"}).status_code == 404

    missing = client.post(url, {"outcome": "confirmed", "answer": ""})
    assert missing.status_code == 200 and "这个字段是必填项" in missing.content.decode()
    response = client.post(url, {"outcome": "confirmed", "answer": "经核查处罚有效"}, follow=True)
    assert "已答复" in response.content.decode()
    objection.refresh_from_db()
    assert objection.status == "answered" and objection.outcome == "confirmed"
    assert proposal.timeline.filter(action="objection_answer").exists()


def record_form_data(objection, **changes) -> dict[str, str]:
    """What the answer form posts when the officer changes ``changes`` (field code → value)
    and leaves the other pre-filled inputs as they are."""
    form = AnswerForm(objection=objection)
    data = {name: form[name].initial or "" for name in form.fields if name.startswith("f_")}
    data.update({f"f_{code}": value for code, value in changes.items()})
    return data


def test_objection_to_a_record_is_corrected_in_a_form_prefilled_from_the_record(
    serious_penalty, officer, enterprise
):
    objection = objections.submit_objection(
        enterprise,
        record=serious_penalty,
        reason="违法事实表述有误",
        requested_changes={"CF_SY": "在网店发布广告"},
    )
    url = reverse("lists:objection", args=[objection.pk])
    client = client_for(officer)
    page = client.get(url).content.decode()
    # The disputed record, field by field, by its Chinese labels and current values.
    assert "违法事实" in page and 'value="在网店发布虚假广告"' in page
    assert "申请人请求更正为：在网店发布广告" in page
    assert "字段编码=" not in page
    key = page[page.index('name="f_CF_WSH"') - 200 : page.index('name="f_CF_WSH"') + 200]
    assert "disabled" in key  # the decision number is the record's key

    unchanged = client.post(
        url, {"outcome": "corrected", "answer": "更正", **record_form_data(objection)}
    )
    assert "请至少修改一个字段" in unchanged.content.decode()
    bad_date = client.post(
        url,
        {
            "outcome": "corrected",
            "answer": "更正",
            **record_form_data(objection, CF_JDRQ="2026-13-45"),
        },
    )
    assert bad_date.status_code == 200
    assert bad_date.context["form"].errors["f_CF_JDRQ"]
    response = client.post(
        url,
        {
            "outcome": "corrected",
            "answer": "已更正",
            **record_form_data(objection, CF_SY="在网店发布广告"),
        },
    )
    assert response.status_code == 302
    new = CreditRecord.objects.current().get(natural_key=serious_penalty.natural_key)
    assert new.version == 2 and Objection.objects.get().outcome == "corrected"
    assert new.values["CF_SY"] == "在网店发布广告"
    assert new.values["CF_NR"] == serious_penalty.values["CF_NR"]  # the rest unchanged
    answered = client.get(url).content.decode()
    assert 'id="disputed-record"' in answered and "在网店发布广告" in answered


def test_a_correction_may_name_fields_by_their_chinese_labels(serious_penalty, officer, enterprise):
    objection = objections.submit_objection(enterprise, record=serious_penalty, reason="有误")
    with audit_context(context_for_user(officer)):
        objections.answer_objection(
            objection,
            officer,
            outcome="corrected",
            answer="已更正",
            changes={"违法事实": "在网店发布广告"},
        )
    new = CreditRecord.objects.current().get(natural_key=serious_penalty.natural_key)
    assert new.values["CF_SY"] == "在网店发布广告"


def test_personal_fields_are_not_prefilled_in_clear(serious_penalty, officer, enterprise):
    from tests.lists.fixtures import ingest_penalty

    record = ingest_penalty(
        1,
        行政处罚决定书文号="沪浦市监处〔2026〕77号",
        法定代表人证件类型="身份证",
        法定代表人证件号码="360426199101010071",
    )
    objection = objections.submit_objection(enterprise, record=record, reason="有误")
    page = client_for(officer).get(reverse("lists:objection", args=[objection.pk])).content
    assert "360426199101010071" not in page.decode()
    assert 'placeholder="3604**********0071"' in page.decode()


def _applied_restoration(proposal, officer, enterprise, statement: str):
    """An included entry whose minimum period has passed, and the subject's application."""
    entry = include(proposal, officer)
    ListEntry.objects.filter(pk=entry.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    restoration = restorations.apply_restoration(
        enterprise, entry=entry, statement=statement, commitment_signed=True, files=[pdf()]
    )
    return entry, restoration


def test_restoration_is_accepted_and_approved_on_its_page(proposal, officer, enterprise):
    entry, restoration = _applied_restoration(proposal, officer, enterprise, "已整改并缴清罚款")
    url = reverse("lists:restoration", args=[restoration.pk])
    client = client_for(officer)
    assert restoration.number in client.get(reverse("lists:restorations")).content.decode()
    page = client.get(url).content.decode()
    assert "已整改并缴清罚款" in page and "情况复杂" in page and "a.pdf" in page

    refused = client.post(url, {"step": "accept", "decision": "refuse", "note": ""})
    assert "请填写不予受理的理由" in refused.content.decode()
    response = client.post(url, {"step": "accept", "decision": "accept", "is_complex": "on"})
    assert response.status_code == 302
    restoration.refresh_from_db()
    assert restoration.status == "accepted" and restoration.is_complex

    page = client.get(url).content.decode()
    assert "准予修复" in page and 'value="accept"' not in page
    response = client.post(
        url, {"step": "decide", "decision": "approve", "note": "整改到位"}, follow=True
    )
    assert "已准予信用修复" in response.content.decode()
    restoration.refresh_from_db()
    entry.refresh_from_db()
    assert restoration.status == "approved"
    assert entry.status == "removed" and entry.end_reason == "restored"


def test_handling_notes_are_bounded(proposal, officer, enterprise):
    """The notes that go with a decision have a length limit on every form (one field helper)."""
    _entry, restoration = _applied_restoration(proposal, officer, enterprise, "已整改")
    url = reverse("lists:restoration", args=[restoration.pk])
    long_note = "理" * 2001
    refused = client_for(officer).post(
        url, {"step": "accept", "decision": "refuse", "note": long_note}
    )
    assert refused.status_code == 200
    assert "2000" in refused.content.decode()  # Django's max_length message names the limit
    restoration.refresh_from_db()
    assert restoration.status == "submitted" and restoration.decision_note != long_note


def test_restoration_pages_are_scoped(proposal, officer, other_officer, enterprise):
    entry = include(proposal, officer)
    ListEntry.objects.filter(pk=entry.pk).update(
        restoration_from=timezone.localdate() - timedelta(days=1)
    )
    restoration = restorations.apply_restoration(
        enterprise, entry=entry, statement="已整改", commitment_signed=True, files=[pdf()]
    )
    url = reverse("lists:restoration", args=[restoration.pk])
    other = client_for(other_officer)
    assert other.get(url).status_code == 404
    assert other.post(url, {"step": "accept", "decision": "accept"}).status_code == 404
    assert Restoration.objects.get().status == "submitted"


def test_attachment_download_is_scoped_and_audited(
    proposal, officer, other_officer, window_clerk, enterprise
):
    objection = objections.submit_objection(
        enterprise, entry=proposal, reason="异议", files=[pdf("复议决定书.pdf")]
    )
    attachment = objection.attachments.get()
    url = reverse("lists:attachment", args=[attachment.pk])
    assert client_for(other_officer).get(url).status_code == 404
    assert client_for(window_clerk).get(url).status_code == 403
    assert not AuditEvent.objects.filter(action="attachment.download").exists()

    response = client_for(officer).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 x"
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action="attachment.download")
    assert event.object_id == str(attachment.pk) and event.subject == proposal.subject.code
    assert event.actor_name == officer.username
    assert client_for(officer).get(reverse("lists:attachment", args=[999999])).status_code == 404
