"""The public pages of 信用浦东: subject search, the subject page, the 双公示 pages, the home
page's statistics and the rate limits — only what the disclosure rules allow, natural
persons never reachable and always masked."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Department
from creditplus.lists import objections, services
from creditplus.lists.models import ListEntry, ListType
from creditplus.portal import public
from creditplus.portal.models import HomeStatistics
from creditplus.records.models import CreditRecord
from creditplus.records.services import restore_event
from creditplus.subjects.models import Subject
from creditplus.supervision import services as supervision
from creditplus.supervision.models import CommitmentTemplate
from tests.factories import make_organisations, valid_uscc
from tests.records.files import ORG_USCC, PERSON_ID, penalty
from tests.records.test_disclosure import FR_ID, cf, ingest, xk

pytestmark = pytest.mark.django_db

ZHANGJIANG = "上海张江高科技园区开发股份有限公司"
SUBJECT = "上海测试1号科技有限公司"  # the subject of cf()/xk() and of the serious_penalty fixture


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters and cached statistics live in the cache: start each test empty."""
    cache.clear()
    yield
    cache.clear()


def get(url: str, **params) -> str:
    response = Client().get(url, params)
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert len(re.findall(r"<h1[\s>]", html)) == 1
    return html


def main(html: str) -> str:
    """The page's content without the navigation and footer."""
    return html.split('<main class="wrap" id="main">', 1)[1].split("</main>", 1)[0]


def subject_url(uscc: str = ORG_USCC[1]) -> str:
    return f"/subjects/{uscc}/"


def person_penalty() -> Subject:
    """A general penalty of the natural person 王五 (never published)."""
    ingest(
        "CF",
        [
            penalty(
                9,
                行政相对人名称="王五",
                行政相对人类别="自然人",
                统一社会信用代码="",
                证件类型="身份证",
                证件号码=PERSON_ID,
                处罚决定日期=(timezone.localdate() - timedelta(days=3)).isoformat(),
                处罚有效期=(timezone.localdate() + timedelta(days=365)).isoformat(),
            )
        ],
    )
    return Subject.objects.get(kind="person", name="王五")


def publish(entry: ListEntry, officer) -> ListEntry:
    """Take a proposal through notice, decision and publication."""
    services.send_notice(entry, officer)
    ListEntry.objects.filter(pk=entry.pk).update(
        response_due=timezone.localdate() - timedelta(days=1)
    )
    services.decide_entry(entry, officer, include=True, decision_no="沪浦市监信〔2026〕7号")
    services.publish_entry(entry, officer)
    entry.refresh_from_db()
    return entry


def publish_person_entry(person: Subject) -> ListEntry:
    today = timezone.localdate()
    return ListEntry.objects.create(
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


# --------------------------------------------------------------------------- search


@pytest.fixture
def registry(reference):
    zhangjiang = Subject.objects.create(
        kind="legal", uscc=valid_uscc(700), name=ZHANGJIANG, legal_rep_name="李四", registered=True
    )
    Subject.objects.create(
        kind="legal", uscc=valid_uscc(701), name="上海外高桥保税区开发股份有限公司"
    )
    # A natural person whose name contains the queries: never found.
    Subject.objects.create(kind="person", id_hash="e" * 64, name="张江高科")
    return zhangjiang


@pytest.mark.parametrize("q", ["张江", "张江高", "高科技", "园区开发"])
def test_search_finds_a_company_by_two_or_three_characters_of_its_name(registry, q):
    html = main(get("/search", q=q))
    assert f'href="/subjects/{registry.uscc}/"' in html
    assert ZHANGJIANG in html
    assert "张*" not in html and ">张江高科<" not in html  # the person: not even masked
    assert "外高桥" not in html


def test_search_finds_a_company_by_its_exact_unified_social_credit_code(registry):
    html = main(get("/search", q=registry.uscc.lower()))
    assert ZHANGJIANG in html and "找到 1 个主体" in html
    assert "外高桥" not in main(get("/search", q=registry.uscc))


def test_search_asks_for_two_characters_and_explains_empty_results(registry):
    short = main(get("/search", q="张"))
    assert "请至少输入 2 个字符" in short and ZHANGJIANG not in short
    none = main(get("/search", q="不存在的公司"))
    assert "没有找到名称包含“不存在的公司”的企业或个体工商户" in none
    assert "18 位代码" in none
    blank = main(get("/search"))
    assert "至少 2 个字" in blank and "找到" not in blank


def test_search_form_has_a_label(registry):
    html = get("/search", q="张江")
    field = re.search(r'<input[^>]*name="q"[^>]*id="(\w+)"', html)
    assert field and f'<label for="{field.group(1)}">' in html
    assert 'value="张江"' in html


def test_search_pages_twenty_results_at_a_time(reference):
    make_organisations(25, start=3000)  # 上海浦东测试3000有限公司 …
    first = main(get("/search", q="浦东测试"))
    assert "找到 25 个主体" in first
    assert first.count('class="card result"') == 20
    assert "第 1 / 2 页" in first and "q=%E6%B5%A6%E4%B8%9C%E6%B5%8B%E8%AF%95&amp;page=2" in first
    second = main(get("/search", q="浦东测试", page="2"))
    assert second.count('class="card result"') == 5 and "第 2 / 2 页" in second
    # Pages past the end and nonsense page numbers do not fail.
    assert main(get("/search", q="浦东测试", page="99")).count('class="card result"') == 5
    assert main(get("/search", q="浦东测试", page="x")).count('class="card result"') == 20


def test_search_reads_a_fixed_number_of_queries_per_page(reference):
    make_organisations(3, start=4000)
    with CaptureQueriesContext(connection) as few:
        get("/search", q="浦东测试")
    make_organisations(20, start=4100)
    with CaptureQueriesContext(connection) as many:
        get("/search", q="浦东测试")
    assert len(many) == len(few)


# --------------------------------------------------------------------------- subject page


def test_subject_page_shows_the_registration_basics(reference):
    Subject.objects.create(
        kind="legal",
        uscc=valid_uscc(800),
        name=ZHANGJIANG,
        legal_rep_name="李四",
        enterprise_type="股份有限公司",
        industry="K",
        address="中国（上海）自由贸易试验区龙东大道200号",
        established_on=timezone.localdate().replace(year=1996, month=4, day=23),
        status="存续",
        registered=True,
    )
    html = main(get(f"/subjects/{valid_uscc(800)}/"))
    assert f"<h1>{ZHANGJIANG}</h1>" in html
    for text in (valid_uscc(800), "李四", "股份有限公司", "房地产业", "龙东大道200号"):
        assert text in html
    assert "1996-04-23" in html and "存续" in html


def test_subject_page_shows_penalties_in_publicity_only(reference):
    today = timezone.localdate()
    shown = cf("沪浦市监处〔2026〕101号", 违法行为类型="虚假宣传")
    cf("沪浦市监处〔2026〕102号", 处罚类别="警告", 处罚内容="警告", **{"罚款金额(万元)": ""})
    cf("沪浦市监处〔2024〕103号", decided=today - timedelta(days=400))  # period over
    restored = cf("沪浦市监处〔2026〕104号")
    restore_event(restored.events.get(), "已整改")
    html = main(get(subject_url()))
    penalties = html.split('id="penalties"', 1)[1].split('id="licenses"', 1)[0]
    assert "沪浦市监处〔2026〕101号" in penalties and "虚假宣传" in penalties
    assert "共 1 条公示信息" in penalties
    for hidden in ("〔2026〕102号", "〔2024〕103号", "〔2026〕104号"):
        assert hidden not in html
    assert FR_ID not in html  # the legal representative's ID number: personal
    # Object to it, or apply to restore its untrustworthy behavior.
    event = shown.events.get()
    assert f'href="/my/objections/new/?record={shown.pk}"' in penalties
    assert f'href="/my/restorations/new/?event={event.pk}"' in penalties


def test_subject_page_shows_licenses_with_their_public_fields_and_no_grade(reference):
    license_ = xk("沪浦市监许〔2026〕101号")
    html = main(get(subject_url()))
    licenses = html.split('id="licenses"', 1)[1].split('id="basics"', 1)[0]
    assert "沪浦市监许〔2026〕101号" in licenses and "食品经营许可证" in licenses
    assert "<dt>当前状态</dt><dd>有效</dd>" in licenses  # the code 1, by its label
    assert f"?record={license_.pk}" in licenses
    assert "/my/restorations/new/" not in licenses  # a license is no untrustworthy behavior
    assert "信用等级" not in html and "评分" not in html


def test_subject_page_lists_memberships_commitments_and_objection_marks(
    proposal, officer, enterprise, serious_penalty
):
    entry = publish(proposal, officer)
    objections.submit_objection(
        enterprise, record=serious_penalty, reason="处罚决定已被撤销", contact="13800000000"
    )
    template = CommitmentTemplate.objects.get(code="GZCN-JYXK")
    commitment = supervision.sign_commitment(
        enterprise, template, entry.subject, reason="食品经营许可（告知承诺制）", signer="李四"
    )
    html = main(get(subject_url()))
    lists = html.split('id="lists"', 1)[1].split('id="penalties"', 1)[0]
    assert entry.list_type.name in lists and "沪浦市监信〔2026〕7号" in lists
    assert f'href="/my/objections/new/?entry={entry.pk}"' in lists
    assert f'href="/my/restorations/new/?entry={entry.pk}"' in lists
    penalties = html.split('id="penalties"', 1)[1].split('id="licenses"', 1)[0]
    assert "异议处理中" in penalties and "异议处理中" not in lists
    commitments = html.split('id="commitments"', 1)[1].split('id="inspections"', 1)[0]
    assert commitment.number in commitments


def test_subject_page_lists_all_records_of_an_item_page_by_page(reference):
    for n in range(22):
        xk(f"沪浦市监许〔2026〕2{n:02d}号", decided=timezone.localdate() - timedelta(days=n))
    html = main(get(subject_url()))
    assert "共 22 条公示信息" in html
    assert html.count('class="record-card"') == public.GROUP_SIZE
    assert 'href="?item=XK"' in html
    first = main(get(subject_url(), item="XK"))
    assert first.count('class="record-card"') == 20 and "第 1 / 2 页" in first
    assert "沪浦市监许〔2026〕200号" in first  # newest first
    second = main(get(subject_url(), item="XK", page="2"))
    assert second.count('class="record-card"') == 2
    assert Client().get(subject_url(), {"item": "NOPE"}).status_code == 404


def test_subject_page_reads_a_fixed_number_of_queries_whatever_its_records(reference):
    cf("沪浦市监处〔2026〕121号")
    xk("沪浦市监许〔2026〕121号")
    with CaptureQueriesContext(connection) as few:
        get(subject_url())
    for n in range(2, 6):
        cf(f"沪浦市监处〔2026〕12{n}号")
        xk(f"沪浦市监许〔2026〕12{n}号")
    with CaptureQueriesContext(connection) as many:
        html = get(subject_url())
    assert html.count('class="record-card"') == 10
    assert len(many) == len(few)


def test_unknown_codes_and_natural_persons_have_no_subject_page(reference):
    person = person_penalty()
    assert Client().get(f"/subjects/{PERSON_ID}/").status_code == 404
    assert Client().get(f"/subjects/{person.id_hash}/").status_code == 404
    assert Client().get(f"/subjects/{valid_uscc(999)}/").status_code == 404
    with pytest.raises(Exception, match="自然人"):
        public.subject_page(person)


# --------------------------------------------------------------------------- 双公示


def test_penalties_page_is_newest_first_with_public_fields_and_subject_links(reference):
    today = timezone.localdate()
    older = cf("沪浦市监处〔2026〕301号", decided=today - timedelta(days=60))
    cf("沪浦市监处〔2026〕302号", decided=today - timedelta(days=6), uscc=ORG_USCC[2])
    cf("沪浦市监处〔2026〕303号", 处罚类别="警告", 处罚内容="警告", **{"罚款金额(万元)": ""})
    person_penalty()
    html = main(get("/publicity/penalties/"))
    assert html.index("〔2026〕302号") < html.index("〔2026〕301号")
    assert "〔2026〕303号" not in html  # minor
    assert "王五" not in html and "王*" not in html and PERSON_ID not in html
    assert "共 2 条" in html
    assert f'href="/subjects/{older.subject.uscc}/"' in html
    assert "<summary>全部公示信息</summary>" in html
    assert "<dt>处罚依据</dt>" in html and FR_ID not in html


def test_penalties_page_filters_by_department_category_and_date(reference):
    today = timezone.localdate()
    cf("沪浦市监处〔2026〕311号", decided=today - timedelta(days=40))
    cf(
        "沪浦市监处〔2026〕312号",
        decided=today - timedelta(days=20),
        处罚类别="责令停产停业;罚款",
        处罚内容="责令停产停业三十日，罚款五万元",
    )
    cf("沪浦税处〔2026〕313号", decided=today - timedelta(days=10), dept="SW")

    def docs(**params) -> list[str]:
        return re.findall(r"〔2026〕31\d号", main(get("/publicity/penalties/", **params)))

    assert set(docs(department="SW")) == {"〔2026〕313号"}
    assert set(docs(department="SCJG")) == {"〔2026〕311号", "〔2026〕312号"}
    assert set(docs(category="责令停产停业")) == {"〔2026〕312号"}
    assert set(docs(category="罚款")) == {"〔2026〕311号", "〔2026〕312号", "〔2026〕313号"}
    since = (today - timedelta(days=25)).isoformat()
    assert set(docs(decided_from=since)) == {"〔2026〕312号", "〔2026〕313号"}
    assert set(docs(decided_to=since)) == {"〔2026〕311号"}
    assert set(docs(department="SCJG", decided_from=since, category="罚款")) == {"〔2026〕312号"}
    # The filters keep their values and have labels; pagination keeps the filters.
    html = get("/publicity/penalties/", department="SW")
    assert '<option value="SW" selected>' in html
    for name in ("department", "category", "decided_from", "decided_to"):
        assert f'<label for="id_{name}">' in html and f'id="id_{name}"' in html
    assert '<option value="吊销许可证件">' in html  # the CFLB code table


def test_bad_filters_give_chinese_messages_not_errors(reference):
    cf("沪浦市监处〔2026〕321号")
    for params, message in (
        ({"department": "NOPE"}, "请从列表中选择部门"),
        ({"category": "不存在"}, "请从列表中选择类别"),
        ({"decided_from": "2026-13-45"}, "请输入有效的日期"),
        ({"decided_from": "2026-06-02", "decided_to": "2026-06-01"}, "结束日期不能早于开始日期"),
    ):
        html = main(get("/publicity/penalties/", **params))
        assert message in html and "〔2026〕321号" not in html


def test_licenses_page_filters_by_license_category(reference):
    xk("沪浦市监许〔2026〕331号", 许可类别="特许")
    xk("沪浦市监许〔2026〕332号")
    html = main(get("/publicity/licenses/", category="特许"))
    assert "〔2026〕331号" in html and "〔2026〕332号" not in html
    assert "<label" in html and '<option value="核准">' in html  # the XKLB code table
    assert "许可类别" in html


def test_dual_pages_count_at_most_a_bounded_number_of_records(reference, monkeypatch):
    monkeypatch.setattr(public, "DUAL_COUNT_CAP", 2)
    today = timezone.localdate()
    for n in range(3):
        cf(f"沪浦市监处〔2026〕35{n}号", decided=today - timedelta(days=n + 1))
    html = main(get("/publicity/penalties/"))
    assert "超过 2 条" in html and "共 3 条" not in html
    assert html.count('class="record-card"') == 2
    assert "〔2026〕350号" in html and "〔2026〕352号" not in html  # the newest ones


def test_dual_pages_read_a_fixed_number_of_queries_per_page(reference):
    cf("沪浦市监处〔2026〕341号")
    with CaptureQueriesContext(connection) as few:
        get("/publicity/penalties/")
    for n in range(2, 8):
        cf(f"沪浦市监处〔2026〕34{n}号", uscc=ORG_USCC[n % 4])
    with CaptureQueriesContext(connection) as many:
        get("/publicity/penalties/")
    assert len(many) == len(few)


# --------------------------------------------------------------------------- persons


def test_natural_persons_are_masked_in_the_latest_list_publications(reference):
    person = person_penalty()
    publish_person_entry(person)
    html = main(get("/"))
    assert "王*" in html and "王五" not in html
    assert PERSON_ID not in html and person.id_masked not in html
    assert "/subjects/None/" not in html and f"/subjects/{person.id_hash}/" not in html


# --------------------------------------------------------------------------- rate limits


@override_settings(CREDITPLUS_RATE_LIMITS={"search": 2, "subject": 2})
def test_search_is_rate_limited_with_a_chinese_message(registry):
    client = Client()
    for _ in range(2):
        assert client.get("/search", {"q": "张江"}).status_code == 200
    refused = client.get("/search", {"q": "张江"})
    assert refused.status_code == 429
    assert "您的访问过于频繁" in refused.content.decode()
    assert int(refused["Retry-After"]) >= 1
    # Another client is not affected.
    assert Client(REMOTE_ADDR="10.0.0.2").get("/search", {"q": "张江"}).status_code == 200


@override_settings(CREDITPLUS_RATE_LIMITS={"search": 2, "subject": 2})
def test_subject_page_is_rate_limited(registry):
    client = Client()
    url = f"/subjects/{registry.uscc}/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert "访问过于频繁" in client.get(url).content.decode()


# --------------------------------------------------------------------------- home


def test_home_shows_the_latest_dual_items_and_statistics(reference):
    cf("沪浦市监处〔2026〕401号")
    cf("沪浦税处〔2026〕402号", dept="SW")
    xk("沪浦市监许〔2026〕401号")
    html = main(get("/"))
    assert "〔2026〕401号" in html and "沪浦税处〔2026〕402号" in html
    assert 'action="/search"' in html
    stats = public.refresh_statistics().figures
    assert stats["dual"] == {"licenses": 1, "penalties": 2}
    collected = {d["name"]: d["n"] for d in stats["departments"]}
    assert collected["区市场监管局"] == 2 and collected["区税务局"] == 1
    assert stats["departments"][0]["name"] == "区市场监管局"  # most records first
    assert '<td>区税务局</td><td class="mono">1</td>' in html
    assert 'id="chart-departments"' in html and 'id="home-chart-data"' in html
    assert "vendor/echarts-5.6.0/echarts.min.js" in get("/")


def test_home_statistics_count_list_sizes_and_grades(proposal, officer):
    from creditplus.evaluation import services as evaluation

    publish(proposal, officer)
    evaluation.evaluate()
    stats = public.compute_statistics()
    sizes = {t["name"]: t["n"] for t in stats["lists"]}
    assert sizes[proposal.list_type.name] == 1 and stats["lists_total"] == 1
    assert stats["grades"]["total"] == Subject.objects.exclude(kind="person").count()
    assert sum(stats["grades"]["grades"].values()) == stats["grades"]["total"]
    html = main(get("/"))
    assert 'id="chart-grades"' in html and "信用等级分布" in html


def test_home_statistics_are_stored_and_refreshed_by_the_scheduled_run(reference):
    cf("沪浦市监处〔2026〕411号")
    # A new installation: nothing stored yet, so the first page computes and stores them.
    assert public.home_statistics()["dual"]["penalties"] == 1
    assert HomeStatistics.objects.count() == 1
    cf("沪浦市监处〔2026〕412号")
    cache.clear()  # every process reads the stored figures, not its own count
    assert public.home_statistics()["dual"]["penalties"] == 1
    assert "统计时间" in get("/")
    out = StringIO()
    call_command("portal_statistics", stdout=out)
    assert "行政处罚 2 条" in out.getvalue()
    stats = public.home_statistics()
    assert stats["dual"]["penalties"] == 2 and HomeStatistics.objects.count() == 1
    assert isinstance(stats["computed_at"], datetime)
    assert AuditEvent.objects.filter(action="portal.statistics").count() == 2


def test_navigation_links_the_public_pages(reference):
    html = get("/")
    for href in ("/search", "/publicity/licenses/", "/opendata/", "/verify"):
        assert f'href="{href}"' in html
    assert CreditRecord.objects.count() == 0  # the home page works on an empty platform
