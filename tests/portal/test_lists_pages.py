"""The public list pages (红黑名单): only published entries of public lists, searchable,
natural persons masked, entries in objection tagged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.lists import objections, services
from creditplus.lists.models import ListEntry, ListType
from creditplus.records.models import CreditRecord
from creditplus.subjects.models import Subject
from tests.lists.fixtures import ingest_penalty
from tests.records.files import PERSON_ID

pytestmark = pytest.mark.django_db

DECISION_NO = "沪浦市监信〔2026〕1号"


def publish(entry: ListEntry, officer, decision_no: str = DECISION_NO) -> ListEntry:
    """Take a proposal through notice, decision and publication (response period over)."""
    services.send_notice(entry, officer)
    ListEntry.objects.filter(pk=entry.pk).update(
        response_due=timezone.localdate() - timedelta(days=1)
    )
    services.decide_entry(entry, officer, include=True, decision_no=decision_no)
    services.publish_entry(entry, officer)
    entry.refresh_from_db()
    return entry


def serious_penalty_of(n: int) -> CreditRecord:
    """A licence revocation of another subject (上海测试<n>号…), hence a YZSX proposal."""
    return ingest_penalty(
        n,
        处罚类别="吊销许可证件",
        处罚内容="吊销食品经营许可证",
        暂扣或吊销证照名称及编号=f"食品经营许可证 JY1310115000000{n}",
    )


def second_proposal() -> ListEntry:
    """The YZSX proposal of a second subject (上海测试2号…)."""
    record = serious_penalty_of(2)
    return ListEntry.objects.get(list_type__code="YZSX", subject=record.subject)


def page(url: str, **params: str) -> str:
    response = Client().get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_lists_page_shows_public_types_with_their_published_count(proposal, officer):
    publish(proposal, officer)
    second_proposal()  # merely proposed: not counted
    html = page("/lists/")
    assert ListType.objects.get(code="YZSX").name in html
    card = html.split('href="/lists/YZSX/"', 1)[1].split("</li>", 1)[0]
    assert re.search(r'class="figure">1<', card)
    assert "黑名单" in card and "认定标准" in card
    assert "/lists/ZDGZ/" not in html  # not public
    assert len(re.findall(r"<h1[\s>]", html)) == 1
    assert 'href="/lists/"' in page("/")  # the navigation links the page


def test_list_shows_published_entries_and_not_mere_proposals(proposal, officer):
    published = publish(proposal, officer)
    proposed = second_proposal()
    html = page("/lists/YZSX/")
    assert published.subject.name in html and published.subject.uscc in html
    assert DECISION_NO in html and published.department.name in html
    assert published.publish_until.isoformat() in html
    assert proposed.subject.name not in html
    assert "异议处理中" not in html
    assert len(re.findall(r"<h1[\s>]", html)) == 1


@pytest.mark.parametrize("code", ["ZDGZ", "NOPE"])
def test_non_public_or_unknown_list_is_404(reference, code):
    assert Client().get(f"/lists/{code}/").status_code == 404


def test_search_by_name_or_code(proposal, officer):
    first = publish(proposal, officer)
    second = publish(second_proposal(), officer, "沪浦市监信〔2026〕2号")
    by_name = page("/lists/YZSX/", q="测试1号")
    assert first.subject.name in by_name and second.subject.name not in by_name
    by_code = page("/lists/YZSX/", q=second.subject.uscc.lower())
    assert second.subject.name in by_code and first.subject.name not in by_code
    nothing = page("/lists/YZSX/", q="没有这家公司")
    assert first.subject.name not in nothing and "没有符合条件的主体" in nothing


def test_entry_in_objection_is_tagged(proposal, officer, enterprise):
    entry = publish(proposal, officer)
    objections.submit_objection(enterprise, entry=entry, reason="处罚决定已被撤销")
    assert "异议处理中" in page("/lists/YZSX/")


def test_natural_persons_are_masked_and_never_found_by_name(reference):
    ingest_penalty(
        9,
        行政相对人名称="王五",
        行政相对人类别="自然人",
        统一社会信用代码="",
        证件类型="身份证",
        证件号码=PERSON_ID,
    )
    person = Subject.objects.get(kind="person")
    today = timezone.localdate()
    ListEntry.objects.create(
        list_type=ListType.objects.get(code="YZSX"),
        subject=person,
        origin="manual",
        status="published",
        department=Department.objects.get(code="SCJG"),
        reason="测试",
        decision_no="沪浦市监信〔2026〕9号",
        proposed_at=timezone.now(),
        proposed_by="test",
        decided_on=today,
        published_on=today,
        publish_until=today + timedelta(days=365),
    )
    html = page("/lists/YZSX/")
    assert "王*" in html and "王五" not in html
    # The ID number only masked, as published lists show it (3604**********0071).
    assert PERSON_ID not in html
    assert (
        person.id_masked in html and person.id_masked == PERSON_ID[:4] + "*" * 10 + PERSON_ID[-4:]
    )
    assert "王*" not in page("/lists/YZSX/", q="王五")
