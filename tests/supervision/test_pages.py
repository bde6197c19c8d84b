"""Credit supervision through its back-office pages: the classification dashboard and lookup,
commitments recorded and verified through forms, 双随机 plans drawn through the form and
their results recorded by the drawn inspectors, and 双告知 follow-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent, Department, User
from creditplus.supervision import dual_notice, inspections, services
from creditplus.supervision.choices import Channel, CommitmentStatus
from creditplus.supervision.models import (
    Commitment,
    CommitmentTemplate,
    InspectionPlan,
    PermitNotice,
    SupervisionField,
)
from tests.conftest import client_for
from tests.factories import make_organisations
from tests.permissions import Protected, check
from tests.supervision.test_dual_notice import register

pytestmark = pytest.mark.django_db


def staff(role: str, department: str, username: str, **fields: str) -> User:
    """A signed-in-only user (no password hash: the test client logs in directly)."""
    user = User.objects.create_user(
        username=username,
        password=None,
        department=Department.objects.get(code=department),
        **fields,
    )
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def district(reference):
    """Ten enterprises (unscored: supervised as grade B) and three SCJG inspectors."""
    organisations = make_organisations(10)
    inspectors = [
        staff(Role.INSPECTOR, "SCJG", f"jcy{i}", first_name=f"检查员{i}") for i in range(3)
    ]
    return organisations, inspectors


def sign_paper(user, subject, **extra) -> Commitment:
    return services.sign_commitment(
        user,
        CommitmentTemplate.objects.get(code="GZCN-JYXK"),
        subject,
        reason="食品经营许可（告知承诺制）",
        signer="李四",
        channel=Channel.PAPER,
        **extra,
    )


# --------------------------------------------------------------------------- permissions


def test_permission_matrix(
    district, officer, other_officer, credit_office, window_clerk, bank_user
):
    organisations, _ = district
    commitment = sign_paper(officer, organisations[0])
    plan = inspections.draw_plan(
        officer, SupervisionField.objects.get(code="SCJG"), "权限测试", seed=1
    )
    personas = {
        "officer": officer,
        "other_officer": other_officer,
        "credit_office": credit_office,
        "window_clerk": window_clerk,
        "bank_user": bank_user,
        "enterprise": staff(Role.ENTERPRISE, "SCJG", "qiye_sup"),
    }
    objects = {"commitment": commitment.number, "plan": plan.number}
    no_supervision = ["bank_user", "enterprise"]
    cases = [
        Protected(
            "dashboard",
            "GET",
            lambda o: reverse("supervision:dashboard"),
            "credit_office",
            [*no_supervision, "window_clerk"],
        ),
        Protected(
            "commitments",
            "GET",
            lambda o: reverse("supervision:commitments"),
            "officer",
            [*no_supervision, "window_clerk"],
        ),
        Protected(
            "commitment",
            "GET",
            lambda o: reverse("supervision:commitment", args=[o["commitment"]]),
            "officer",
            [*no_supervision, "window_clerk"],
            other_department="other_officer",
        ),
        Protected(
            "commitment_new",
            "GET",
            lambda o: reverse("supervision:commitment_new"),
            "window_clerk",
            no_supervision,
        ),
        Protected(
            "plans", "GET", lambda o: reverse("supervision:plans"), "officer", no_supervision
        ),
        Protected(
            "plan_new",
            "GET",
            lambda o: reverse("supervision:plan_new"),
            "officer",
            [*no_supervision, "credit_office", "window_clerk"],
        ),
        Protected(
            "plan",
            "GET",
            lambda o: reverse("supervision:plan", args=[o["plan"]]),
            "officer",
            no_supervision,
            other_department="other_officer",
        ),
        Protected(
            "inspections",
            "GET",
            lambda o: reverse("supervision:inspections"),
            "officer",
            [*no_supervision, "window_clerk"],
        ),
        Protected(
            "notices",
            "GET",
            lambda o: reverse("supervision:notices"),
            "officer",
            [*no_supervision, "window_clerk"],
        ),
    ]
    for case in cases:
        check(case, personas, objects)
    # The menu links the area for those who may use it.
    link = 'href="/backoffice/supervision/"'
    assert link in client_for(officer).get(reverse("accounts:home")).content.decode()
    clerk_menu = client_for(window_clerk).get(reverse("accounts:home")).content.decode()
    assert (
        link not in clerk_menu and 'href="/backoffice/supervision/commitments/new/"' in clerk_menu
    )


# --------------------------------------------------------------------------- dashboard


def test_dashboard_shows_the_policy_the_lookup_audited_and_the_grade_chart(
    district, officer, credit_office
):
    organisations, _ = district
    plan = inspections.draw_plan(
        officer, SupervisionField.objects.get(code="SCJG"), "图表", ratios={"B": 0.2}, seed=3
    )
    first = plan.inspections.order_by("id").first()
    inspections.record_result(first.inspector_a, first, result="住所无法联系")
    client = client_for(credit_office)
    page = client.get(reverse("supervision:dashboard")).content.decode()
    assert "市场监管" in page and "从严审查" in page and "0.5%" in page  # HG grade A
    assert 'id="chart-grades"' in page and "echarts" in page and 'id="grade-chart-data"' in page
    assert not AuditEvent.objects.filter(action="supervision.query").exists()
    response = client.get(
        reverse("supervision:dashboard"), {"uscc": organisations[0].uscc.lower(), "field": "SCJG"}
    )
    html = response.content.decode()
    assert response.context["result"]["grade"] == "B"
    assert organisations[0].name in html and "常规办理" in html and "5%" in html
    assert AuditEvent.objects.filter(
        action="supervision.query", subject=organisations[0].uscc
    ).exists()
    stats = {s.grade: s for s in response.context["stats"]}
    assert (stats["B"].drawn, stats["B"].inspected, stats["B"].problems) == (2, 1, 1)
    assert response.context["chart"]["rate"][1] == 100.0
    unknown = client.get(
        reverse("supervision:dashboard"), {"uscc": "91310115MA1K000000", "field": "SCJG"}
    )
    assert "未找到该统一社会信用代码的市场主体" in unknown.content.decode()


# --------------------------------------------------------------------------- commitments


def test_a_window_clerk_records_a_paper_commitment_through_the_form(district, window_clerk):
    organisations, _ = district
    client = client_for(window_clerk)
    url = reverse("supervision:commitment_new")
    data = {
        "template": "GZCN-JYXK",
        "uscc": organisations[1].uscc,
        "reason": "食品经营许可",
        "signer": "王五",
        "published": "on",
    }
    missing = client.post(url, {**data, "uscc": "91310115MA1K000000"})
    assert "未找到该统一社会信用代码的市场主体" in missing.content.decode()
    blank = client.post(url, {**data, "reason": "   "})
    assert blank.status_code == 200 and not Commitment.objects.exists()
    done = client.post(url, data, follow=True)
    commitment = Commitment.objects.get()
    assert (commitment.channel, commitment.subject, commitment.published) == (
        Channel.PAPER,
        organisations[1],
        True,
    )
    assert commitment.department.code == "SCJG" and commitment.created_by == "window"
    # The clerk cannot see the department's inbox: back to the form, with the number.
    assert done.redirect_chain[-1][0] == url
    assert commitment.number in done.content.decode()


def test_the_department_sees_its_commitments_and_verifies_through_the_form(
    district, officer, other_officer
):
    organisations, _ = district
    today = timezone.localdate()
    overdue = sign_paper(officer, organisations[0], today=today - timedelta(days=100))
    fresh = sign_paper(officer, organisations[1], published=False)
    client = client_for(officer)
    listing = client.get(reverse("supervision:commitments"))
    html = listing.content.decode()
    assert [c.number for c in listing.context["page_obj"]] == [overdue.number, fresh.number]
    assert "已逾期" in html and html.count('class="overdue"') == 1
    assert AuditEvent.objects.filter(action="commitment.query").exists()
    pending = client.get(reverse("supervision:commitments"), {"status": "fulfilled"})
    assert list(pending.context["page_obj"]) == []
    # Another department sees none of them and cannot open or verify them.
    other = client_for(other_officer)
    assert list(other.get(reverse("supervision:commitments")).context["page_obj"]) == []
    url = reverse("supervision:commitment", args=[fresh.number])
    assert other.get(url).status_code == 404
    assert other.post(url, {"outcome": "全部履行"}).status_code == 404

    page = client.get(url)
    assert page.context["form"] is not None and "核查履行情况" in page.content.decode()
    assert AuditEvent.objects.filter(action="commitment.view", object_id=str(fresh.pk)).exists()
    partial = client.post(url, {"outcome": "部分履行"})
    assert partial.status_code == 200
    assert "须填写未履行的承诺内容" in partial.content.decode()
    done = client.post(url, {"outcome": "全部履行"}, follow=True)
    fresh.refresh_from_db()
    assert fresh.status == CommitmentStatus.FULFILLED and fresh.record.item.code == "CNWY"
    html = done.content.decode()
    assert "已核查" in html and done.context["form"] is None and fresh.record.natural_key in html


# --------------------------------------------------------------------------- 双随机


def test_the_officer_draws_a_plan_through_the_form_and_sees_the_seed(
    district, officer, other_officer
):
    client = client_for(officer)
    form = client.get(reverse("supervision:plan_new"), {"field": "SCJG"})
    assert form.context["form"].initial["ratio_B"] == "5"
    assert 'id="field-policies"' in form.content.decode()
    response = client.post(
        reverse("supervision:plan_new"),
        {"field": "SCJG", "title": "2026年住所核查", "ratio_B": "50", "seed": "4242"},
        follow=True,
    )
    plan = InspectionPlan.objects.get()
    assert (plan.seed, plan.ratios["B"], plan.inspections.count()) == (4242, 0.5, 5)
    assert response.redirect_chain[-1][0] == reverse("supervision:plan", args=[plan.number])
    html = response.content.decode()
    assert '<td class="mono" id="seed">4242</td>' in html and "检查员" in html
    assert plan.population_digest in html
    verified = client.get(reverse("supervision:plan", args=[plan.number]), {"verify": "1"})
    assert verified.context["verified"] is True and "一致" in verified.content.decode()
    assert client.get(reverse("supervision:plans")).context["page_obj"][0] == plan
    # 区税务局 has no inspectors: the refusal is shown on the form.
    refused = client_for(other_officer).post(
        reverse("supervision:plan_new"), {"field": "SW", "title": "税务抽查", "ratio_B": "10"}
    )
    assert refused.status_code == 200
    assert "可派检查人员不足两名" in refused.content.decode()
    assert InspectionPlan.objects.count() == 1


def test_an_inspector_sees_only_own_tasks_and_records_a_result_through_the_form(district, officer):
    _, inspectors = district
    plan = inspections.draw_plan(
        officer, SupervisionField.objects.get(code="SCJG"), "食品抽查", ratios={"B": 0.5}, seed=8
    )
    inspector = inspectors[0]
    client = client_for(inspector)
    listing = client.get(reverse("supervision:inspections"))
    mine = list(listing.context["page_obj"])
    assert mine and all(i.inspected_by(inspector) for i in mine)
    assert len(mine) == sum(1 for i in plan.inspections.all() if i.inspected_by(inspector))
    target = mine[0]
    url = reverse("supervision:inspection", args=[target.pk])
    assert client.get(url).context["form"] is not None
    not_mine = next(i for i in plan.inspections.all() if not i.inspected_by(inspector))
    assert client.get(reverse("supervision:inspection", args=[not_mine.pk])).status_code == 404
    # The officer sees the task but records nothing.
    assert client_for(officer).get(url).context["form"] is None
    assert client_for(officer).post(url, {"result": "未发现问题"}).status_code == 403

    missing = client.post(url, {"result": "发现问题已责令改正"})
    assert "须填写问题及处理情况" in missing.content.decode()
    done = client.post(
        url, {"result": "发现问题已责令改正", "findings": "未公示食品经营许可证"}, follow=True
    )
    target.refresh_from_db()
    assert target.result == "发现问题已责令改正" and target.awaiting_review
    assert "检查结果已录入" in done.content.decode() and done.context["form"] is None
    assert done.context["review_form"] is None  # an inspector does not review
    # The officer reviews it: collected as a record and public from then on.
    reviewed = client_for(officer).post(url, {"step": "review", "decision": "approve"})
    assert reviewed.status_code == 302
    target.refresh_from_db()
    assert target.record.item.code == "SJCC" and target.reviewed_at
    again = client.get(reverse("supervision:inspections"))
    assert list(again.context["page_obj"])[-1] == target  # pending ones first


# --------------------------------------------------------------------------- 双告知


def test_the_department_follows_up_its_notices_through_the_list(
    reference, officer, other_officer, credit_office
):
    register(7, "许可项目：食品经营。", "食品经营")
    dual_notice.notify_new_registrations()
    notice = PermitNotice.objects.get()
    client = client_for(officer)
    html = client.get(reverse("supervision:notices")).content.decode()
    follow_up = reverse("supervision:notice_follow_up", args=[notice.pk])
    assert "食品经营许可证" in html and f'action="{follow_up}"' in html
    assert (
        list(client_for(other_officer).get(reverse("supervision:notices")).context["page_obj"])
        == []
    )
    assert client_for(other_officer).post(follow_up, {"note": "x"}).status_code == 404
    assert client_for(credit_office).post(follow_up, {"note": "x"}).status_code == 403
    assert client.get(follow_up).status_code == 405
    done = client.post(follow_up, {"note": "已办理食品经营许可证"}, follow=True)
    notice.refresh_from_db()
    assert not notice.is_open and notice.closed_by == officer.username
    assert "已跟进" in done.content.decode()
    again = client.post(follow_up, {"note": "再次"}, follow=True)
    assert "该告知已跟进办结" in again.content.decode()
