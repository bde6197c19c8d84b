"""Supervision on the public site: 承诺公示 and 抽查结果公示 (public, searchable, only what is
published), and the enterprise's own area — its permit notices (双告知), its commitments and
signing a commitment online."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department, User
from creditplus.supervision import inspections, services
from creditplus.supervision.choices import Channel, CommitmentStatus
from creditplus.supervision.models import (
    Commitment,
    CommitmentTemplate,
    PermitNotice,
    PermitRule,
    SupervisionField,
)
from tests.conftest import client_for
from tests.factories import make_organisations

pytestmark = pytest.mark.django_db


def h1_count(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


def sign(user, subject, **extra) -> Commitment:
    return services.sign_commitment(
        user,
        CommitmentTemplate.objects.get(code="GZCN-JYXK"),
        subject,
        reason="食品经营许可（告知承诺制）",
        signer="签署人甲",
        **extra,
    )


def public_page(url: str, **params: str):
    response = Client().get(url, params)
    assert response.status_code == 200
    return response


# --------------------------------------------------------------------------- 承诺公示


def test_the_public_commitments_page_lists_published_commitments_only(enterprise, subject, officer):
    published = sign(enterprise, subject)
    hidden = sign(enterprise, subject, published=False)
    response = public_page("/commitments/")
    html = response.content.decode()
    assert h1_count(html) == 1 and 'href="/commitments/"' in html  # in the navigation
    assert published.number in html and hidden.number not in html
    assert subject.name in html and subject.uscc in html and "涉企经营许可事项告知承诺书" in html
    assert "签署人甲" not in html  # the signer's name is not published
    assert "待核查" in html

    services.verify_commitment(officer, published, outcome="全部履行")
    assert "全部履行" in public_page("/commitments/").content.decode()
    assert published.number in public_page("/commitments/", q=subject.uscc.lower()).content.decode()
    assert published.number in public_page("/commitments/", q=subject.name[:6]).content.decode()
    assert published.number not in public_page("/commitments/", q="不存在的公司").content.decode()


def test_the_public_commitments_page_reads_in_constant_queries(reference, window_clerk):
    organisations = make_organisations(3)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            public_page("/commitments/")
        return len(ctx.captured_queries)

    sign(window_clerk, organisations[0], channel=Channel.PAPER)
    one = queries()
    for org in organisations[1:]:
        sign(window_clerk, org, channel=Channel.PAPER)
    assert queries() == one


# --------------------------------------------------------------------------- 抽查结果公示


@pytest.fixture
def plan(reference, officer):
    """A plan over ten enterprises (all grade B), two of them drawn, one result recorded."""
    make_organisations(10)
    department = Department.objects.get(code="SCJG")
    for i in range(2):
        user = User.objects.create_user(f"jcy_p{i}", password=None, department=department)
        user.groups.add(Group.objects.get(name=Role.INSPECTOR))
    plan = inspections.draw_plan(
        officer,
        SupervisionField.objects.get(code="SCJG"),
        "公示测试抽查",
        ratios={"B": 0.2},
        seed=5,
    )
    done = plan.inspections.order_by("id").first()
    inspections.record_result(done.inspector_a, done, result="住所无法联系")
    inspections.review_result(officer, done, approve=True)  # 审核: public from here on
    return plan


def test_the_public_inspections_page_shows_recorded_results_and_the_chart(plan):
    done, pending = plan.inspections.order_by("id")
    response = public_page("/inspections/")
    html = response.content.decode()
    assert h1_count(html) == 1 and 'href="/inspections/"' in html
    assert plan.number in html and "公示测试抽查" in html and "区市场监管局" in html
    assert done.subject.name in html and done.subject.uscc in html
    assert "通过登记的住所（经营场所）无法联系" in html
    assert pending.subject.name not in html  # not inspected yet
    assert 'id="chart-grades"' in html and "echarts" in html
    stats = {s.grade: s for s in response.context["stats"]}
    assert (stats["B"].inspected, stats["B"].problems) == (1, 1)
    assert response.context["chart"]["rate"] == [None, 100.0, None, None]
    assert done.subject.name in public_page("/inspections/", q=done.subject.uscc).content.decode()
    assert done.subject.name not in public_page("/inspections/", q="无此企业").content.decode()


# --------------------------------------------------------------------------- 我的信用


def test_the_enterprise_sees_its_permit_notices_and_commitments(
    enterprise, subject, serious_penalty, officer
):
    rule = PermitRule.objects.get(code="SPJY")
    PermitNotice.objects.create(
        subject=subject,
        rule=rule,
        department=rule.department,
        permit=rule.permit,
        matched="食品经营",
        record=serious_penalty,
        notified_at=timezone.now(),
    )
    commitment = sign(enterprise, subject)
    overview = client_for(enterprise).get("/my/").content.decode()
    # The overview says what is due: the commitment to fulfil, the permit to obtain.
    assert f"信用承诺 {commitment.number}" in overview and "须先取得许可" in overview
    html = client_for(enterprise).get("/my/?tab=commitments").content.decode()
    assert h1_count(html) == 1
    assert "须办理的许可（双告知）" in html and rule.permit in html and rule.window in html
    assert rule.department.name in html and "待部门跟进" in html
    assert "我的信用承诺" in html and commitment.number in html and "待核查" in html
    assert 'href="/my/commitments/new/"' in html


def test_the_enterprise_signs_a_commitment_online_through_its_page(enterprise, subject):
    client = client_for(enterprise)
    choose = client.get("/my/commitments/new/").content.decode()
    assert h1_count(choose) == 1 and "?template=GZCN-JYXK" in choose
    assert "?template=XYXF" not in choose  # restoration commitments come from restorations
    url = "/my/commitments/new/?template=GZCN-JYXK"
    page = client.get(url).content.decode()
    assert "已知晓行政机关告知的全部许可条件、标准和要求" in page and "撤销许可决定" in page
    assert "本人已阅读并承诺" in page
    data = {"reason": "食品经营许可（告知承诺制）", "signer": "李四", "published": "on"}
    refused = client.post(url, data)
    assert refused.status_code == 200 and "请阅读承诺内容和违诺责任" in refused.content.decode()
    assert not Commitment.objects.exists()
    done = client.post(url, {**data, "agree": "on"}, follow=True)
    commitment = Commitment.objects.get()
    assert (commitment.subject, commitment.channel, commitment.status) == (
        subject,
        Channel.ONLINE,
        CommitmentStatus.SIGNED,
    )
    assert commitment.signer == "李四" and commitment.department.code == "SCJG"
    assert done.redirect_chain[-1][0] == "/my/#commitments"
    assert commitment.number in done.content.decode()
    assert client.get("/my/commitments/new/?template=NOPE").status_code == 404
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
