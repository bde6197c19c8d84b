"""The public site puts the credit status first and finds what people type: a subject page
opens with its list memberships, objections in progress and the count of public penalties;
search results flag listed subjects; the main search and the 双公示 lists find a document
number and names by several words; list pages count subjects, not entries, and show the
source's case number for imported entries."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from creditplus.lists import objections
from creditplus.lists.models import ListEntry, ListType
from creditplus.subjects.models import Subject
from tests.factories import make_organisations
from tests.portal.test_lists_pages import publish
from tests.portal.test_public_pages import SUBJECT, get, main, subject_url
from tests.records.test_disclosure import cf, xk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_listed_subject_page_opens_with_its_credit_status(
    proposal, officer, enterprise, serious_penalty
):
    entry = publish(proposal, officer)
    objections.submit_objection(
        enterprise, record=serious_penalty, reason="处罚决定已被撤销", contact="13800000000"
    )
    for n in range(3):
        xk(f"沪浦市监许〔2026〕状态{n}号")
    html = main(get(subject_url()))
    status = html.index('class="card status-first listed"')
    assert status < html.index('id="lists"') < html.index('id="penalties"')
    assert html.index('id="penalties"') < html.index('id="licenses"') < html.index('id="basics"')
    card = html[status : html.index("</section>", status)]
    assert entry.list_type.name in card and "黑名单" in card
    assert "公示期内的行政处罚 1 条" in card and "异议处理中 1 件" in card


def test_search_results_flag_listed_subjects(proposal, officer):
    entry = publish(proposal, officer)
    for n, sub in enumerate(make_organisations(2, start=7100)):  # same words, not listed
        sub.name = f"上海测试未列入{n}公司"
        sub.save(update_fields=["name"])
    html = main(get("/search", q="上海测试"))
    listed = html[html.index(SUBJECT) :].split("</li>", 1)[0]
    assert "黑名单" in listed and entry.list_type.name in listed
    others = [li for li in html.split("<li") if "未列入" in li]
    assert others and all("黑名单" not in li for li in others)


def test_the_main_search_finds_a_document_number(reference):
    cf("沪浦市监处〔2026〕1804号")
    cf("沪浦市监处〔2026〕1805号")
    html = main(get("/search", q="沪浦市监处〔2026〕1804号"))
    documents = html[html.index('id="documents-title"') :]
    assert "沪浦市监处〔2026〕1804号" in documents and "1805号" not in documents
    assert SUBJECT in documents
    assert "没有找到名称包含" not in html  # a document was found: no "nothing found" advice


def test_the_main_search_matches_every_word(reference):
    Subject.objects.create(kind="legal", uscc="91310115MA1K3BTP2B", name="上海昊骏贸易有限公司")
    make_organisations(3, start=7200)  # 上海浦东测试…: one of the words only
    html = main(get("/search", q="上海 昊骏"))
    assert "找到 1 个主体" in html and "上海昊骏贸易有限公司" in html
    assert "找到 1 个主体" in main(get("/search", q="昊骏\u3000上海"))  # ideographic space
    assert "找到 0 个主体" in main(get("/search", q="上海 昊骏 不存在"))


@pytest.mark.parametrize("url", ["/publicity/penalties/"])
def test_dual_lists_are_searched_by_name_or_document_number(reference, url):
    cf("沪浦市监处〔2026〕1804号")
    cf("沪浦市监处〔2026〕1806号")
    by_doc = main(get(url, q="沪浦市监处〔2026〕1804号"))
    assert "共 1 条" in by_doc and "1804号" in by_doc and "1806号" not in by_doc
    by_words = main(get(url, q="上海 测试1号"))
    assert "共 2 条" in by_words
    assert "没有符合条件的公示信息" in main(get(url, q="上海 昊骏"))
    assert 'name="q"' in by_doc and 'value="沪浦市监处〔2026〕1804号"' in by_doc


def test_licences_are_searched_the_same_way(reference):
    xk("沪浦市监许〔2026〕1804号")
    html = main(get("/publicity/licenses/", q="沪浦市监许〔2026〕1804"))
    assert "共 1 条" in html and "沪浦市监许〔2026〕1804号" in html


def court_entry(subject, case_no: str) -> ListEntry:
    """An entry of the 失信被执行人名单 imported from the court's list (one per case)."""
    list_type = ListType.objects.get(code="SXBZX")
    return ListEntry.objects.create(
        list_type=list_type,
        subject=subject,
        origin="imported",
        status="published",
        department=list_type.deciding_department,
        reason=list_type.criteria,
        source_key=f"{case_no}|{subject.uscc}|",
        proposed_at=timezone.now(),
        published_on=timezone.localdate(),
    )


def test_list_pages_count_subjects_not_entries(reference):
    twice, once = make_organisations(2, start=7300)
    court_entry(twice, "(2026)沪0115执1234号")
    court_entry(twice, "(2026)沪0115执1235号")  # a second case: the same subject again
    court_entry(once, "(2026)沪0115执1236号")
    detail = main(get("/lists/SXBZX/"))
    assert "共 2 个主体，3 条名单信息" in detail
    lists = main(get("/lists/"))
    card = lists[lists.index("失信被执行人名单") :].split("</li>", 1)[0]
    assert '<span class="figure">2</span>' in card


def test_an_imported_entry_shows_the_source_case_number(reference):
    subject = make_organisations(1, start=7400)[0]
    entry = court_entry(subject, "(2026)沪0115执1234号")
    assert entry.document_no == "(2026)沪0115执1234号"
    detail = main(get("/lists/SXBZX/"))
    assert "(2026)沪0115执1234号" in detail and subject.uscc + "|" not in detail
