"""Credit evaluation (评信) through its back-office pages: the dashboard, the credit profile
(画像) with its audit trail, the model versions with the report and the side-by-side
comparison, and activation of a new version."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent
from creditplus.catalog.choices import SubjectKind
from creditplus.evaluation import services
from creditplus.evaluation.models import EvaluationModel, EvaluationRun
from creditplus.pages import PAGE_SIZE
from creditplus.subjects.models import Subject
from tests.conftest import client_for
from tests.evaluation.test_profile import (
    CLEAN_USCC,
    PERSON_ID,
    PERSON_NAME,
    RELATED_USCC,
    build_scenario,
    make_organisation,
)
from tests.factories import make_user
from tests.permissions import Protected, check

pytestmark = pytest.mark.django_db

ACTIVE = "CPE-2026"
DRAFT = "CPE-2027-DRAFT"


def profile_url(code: str) -> str:
    return reverse("evaluation:profile", args=[code])


@pytest.fixture
def scenario(proposal, officer):
    return build_scenario(proposal, officer)


def grade_figure(page: str, grade: str) -> int:
    match = re.search(rf'class="figure" data-grade="{grade}">(\d+)<', page)
    assert match, grade
    return int(match.group(1))


# --------------------------------------------------------------------------- permissions


@pytest.fixture
def personas(officer, credit_office, platform_admin, window_clerk, bank_user):
    return {
        "officer": officer,
        "credit_office": credit_office,
        "platform_admin": platform_admin,
        "window_clerk": window_clerk,
        "bank_user": bank_user,
        "enterprise": make_user(Role.ENTERPRISE, username="qiye_eval"),
    }


NO_EVALUATION = ["window_clerk", "bank_user", "enterprise"]

CASES = [
    Protected(
        "dashboard", "GET", lambda o: reverse("evaluation:dashboard"), "officer", NO_EVALUATION
    ),
    Protected("profile", "GET", lambda o: profile_url(o["uscc"]), "officer", NO_EVALUATION),
    Protected("models", "GET", lambda o: reverse("evaluation:models"), "officer", NO_EVALUATION),
    Protected(
        "model",
        "GET",
        lambda o: reverse("evaluation:model", args=[DRAFT]),
        "officer",
        NO_EVALUATION,
    ),
    Protected(
        "activate",
        "POST",
        lambda o: reverse("evaluation:activate", args=[DRAFT]),
        "platform_admin",
        denied=["credit_office", "officer", *NO_EVALUATION],
    ),
]


def test_permission_matrix(personas):
    # One test for all cases: the personas (six password hashes) are made once.
    subject = make_organisation(RELATED_USCC, "上海关联贸易有限公司")
    for case in CASES:
        check(case, personas, {"uscc": subject.uscc})


def test_the_menu_links_the_dashboard_for_roles_that_may_see_scores(officer, window_clerk):
    link = f'href="{reverse("evaluation:dashboard")}"'
    assert link in client_for(officer).get(reverse("accounts:home")).content.decode()
    assert link not in client_for(window_clerk).get(reverse("accounts:home")).content.decode()


# --------------------------------------------------------------------------- dashboard


def test_dashboard_shows_the_grade_distribution_the_runs_and_the_charts(scenario, credit_office):
    response = client_for(credit_office).get(reverse("evaluation:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    expected = services.distribution(EvaluationModel.objects.get(code=ACTIVE))["grades"]
    assert {g: grade_figure(page, g) for g in "ABCD"} == expected
    assert expected["D"] == 1  # the blacklisted company
    assert "占 33.3%" in page  # one of the three organisations
    assert sum(expected.values()) == Subject.objects.organisations().count()
    assert "echarts.min.js" in page and 'id="evaluation-data"' in page
    assert response.context["chart"]["grades"][3] == {"name": "D 失信", "value": 1}
    assert len(response.context["chart"]["histogram"]) == 20
    run = EvaluationRun.objects.get()
    assert list(response.context["runs"]) == [run]
    assert "全量评价" in page and "extract" in page
    assert response.context["page_obj"] is None  # no search yet


def test_dashboard_search_lists_organisations_with_their_grade(scenario, officer):
    client = client_for(officer)
    found = client.get(reverse("evaluation:dashboard"), {"q": "上海"})
    rows = {s.uscc: s.current_grade for s in found.context["page_obj"]}
    assert set(rows) == {scenario["blacklisted"].uscc, RELATED_USCC, CLEAN_USCC}
    assert rows[scenario["blacklisted"].uscc] == "D"
    page = found.content.decode()
    assert f'href="{profile_url(RELATED_USCC)}"' in page
    assert PERSON_NAME not in page
    by_code = client.get(reverse("evaluation:dashboard"), {"q": CLEAN_USCC.lower()})
    assert [s.uscc for s in by_code.context["page_obj"]] == [CLEAN_USCC]
    d_only = client.get(reverse("evaluation:dashboard"), {"grade": "D"})
    assert [s.pk for s in d_only.context["page_obj"]] == [scenario["blacklisted"].pk]


def test_dashboard_search_pages_without_a_query_per_row(scenario, officer):
    client = client_for(officer)
    url = reverse("evaluation:dashboard")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"q": "上海"}).context["page_obj"].paginator.count == 3
    Subject.objects.bulk_create(
        Subject(
            kind=SubjectKind.LEGAL, uscc=f"91310115TEST{n:05d}X", name=f"上海批量{n:02d}有限公司"
        )
        for n in range(PAGE_SIZE + 5)
    )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"q": "上海"})
    page_obj = response.context["page_obj"]
    assert page_obj.paginator.count == PAGE_SIZE + 8 and len(page_obj) == PAGE_SIZE
    assert "尚未评价" in response.content.decode()  # the new ones have no score yet
    assert len(many) == len(few)
    second = client.get(url, {"q": "上海", "page": 2})
    assert len(second.context["page_obj"]) == 8


# --------------------------------------------------------------------------- profile


def test_profile_shows_grade_reasons_tags_and_masked_related_persons(scenario, officer):
    related = scenario["related"]
    response = client_for(officer).get(profile_url(related.uscc))
    assert response.status_code == 200
    page = response.content.decode()
    score = services.current_score(related)
    assert response.context["score"] == score
    assert f'data-grade="{score.grade}">{score.grade}<' in page and str(score.score) in page
    reasons = services.explain(score)["reasons"]
    related_reason = next(r for r in reasons if r["indicator"] == "GL_BLACK")
    assert related_reason["text"] in page and "扣60分" in related_reason["text"]
    assert "关联失信企业" in page and "成立满" in page
    # The shared legal representative: masked name and ID only, never the clear values.
    assert "欧阳**" in page and "3604**********0071" in page
    assert PERSON_NAME not in page and PERSON_ID not in page
    # …and the other organisation, with its grade and list.
    assert scenario["blacklisted"].name in page and "严重失信主体名单" in page
    assert f'href="{profile_url(scenario["blacklisted"].uscc)}"' in page
    assert "上海市浦东新区张江路1号" in page and "批发和零售业" in page


def test_profile_of_a_blacklisted_company_shows_its_list_timeline_and_advice(scenario, officer):
    subject = scenario["blacklisted"]
    response = client_for(officer).get(profile_url(subject.uscc))
    page = response.content.decode()
    assert {"label": "严重失信主体名单", "kind": "bad"} in response.context["tags"]
    assert 'data-tag="bad">严重失信主体名单<' in page
    assert "列入严重失信主体名单，等级最高为D级" in page  # the override
    assert "如何提升" in page and "名单移出（期满或信用修复）后方可高于D级" in page
    assert "行政处罚" in page and "失信行为·严重" in page  # the record and its behavior
    assert "公示中" in page  # the list steps
    assert 'id="chart-history"' in page and response.context["chart"]["history"][0]["score"] == (
        services.current_score(subject).score
    )


def test_profile_of_a_clean_company_shows_good_tags_and_the_points_it_earned(scenario, officer):
    response = client_for(officer).get(profile_url(CLEAN_USCC))
    page = response.content.decode()
    assert 'data-tag="good">纳税A级<' in page
    assert "获评纳税信用A级1次，加60分" in page
    assert "关联失信企业" not in page
    assert "暂无法定代表人或负责人的关联信息" in page


def test_every_profile_view_is_audited(scenario, officer):
    client = client_for(officer)
    before = AuditEvent.objects.filter(action="evaluation.profile.view").count()
    client.get(profile_url(RELATED_USCC))
    client.get(profile_url(RELATED_USCC))
    events = AuditEvent.objects.filter(action="evaluation.profile.view").order_by("id")
    assert events.count() == before + 2
    last = events.last()
    assert last.subject == RELATED_USCC and last.purpose == "信用画像查看"
    assert last.actor_name == officer.username and last.department == "SCJG"
    assert last.object_type == "subjects.subject" and last.object_id == str(scenario["related"].pk)


def test_a_subject_not_evaluated_yet_shows_its_profile(reference, credit_office):
    subject = make_organisation(RELATED_USCC, "上海新设有限公司")
    response = client_for(credit_office).get(profile_url(subject.uscc))
    assert response.status_code == 200
    page = response.content.decode()
    assert "尚未评价" in page and 'data-score="none"' in page and subject.name in page


def test_natural_persons_and_unknown_codes_have_no_profile(scenario, officer):
    client = client_for(officer)
    before = AuditEvent.objects.filter(action="evaluation.profile.view").count()
    for code in (PERSON_ID, scenario["person"].id_masked, "91310000MA1FL8LX0X"):
        assert client.get(profile_url(code)).status_code == 404
    assert AuditEvent.objects.filter(action="evaluation.profile.view").count() == before


# --------------------------------------------------------------------------- models


def test_models_page_lists_the_versions_and_their_runs(scenario, credit_office):
    response = client_for(credit_office).get(reverse("evaluation:models"))
    assert response.status_code == 200
    rows = {m.code: m for m in response.context["models"]}
    assert rows[ACTIVE].status == "active" and rows[ACTIVE].run_count == 1
    assert rows[ACTIVE].last_run == EvaluationRun.objects.get()
    assert rows[DRAFT].status == "draft" and rows[DRAFT].run_count == 0
    assert rows[DRAFT].last_run is None
    page = response.content.decode()
    assert 'data-status="active"' in page and "尚未评价" in page


def test_model_report_shows_indicators_grade_rules_and_their_effect(scenario, credit_office):
    response = client_for(credit_office).get(reverse("evaluation:model", args=[ACTIVE]))
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'data-indicator="GL_BLACK">1<', page)  # the related company
    assert re.search(r'data-indicator="SS_NSXY_A">1<', page)  # the A-grade taxpayer
    assert "NSXY-A" in page and "关联主体名单" in page and "失信惩戒（黑名单）" in page
    assert "850–1000" in page and "BLACKLIST" in page and "最高D级" in page
    assert "启用此版本" not in page and "与启用模型" not in page  # it is the active one
    assert (
        client_for(credit_office).get(reverse("evaluation:model", args=["NOPE"])).status_code == 404
    )


def test_a_candidate_shows_the_command_until_evaluated_then_the_comparison(scenario, credit_office):
    client = client_for(credit_office)
    url = reverse("evaluation:model", args=[DRAFT])
    before = client.get(url).content.decode()
    assert f"creditplus evaluate --all --model {DRAFT}" in before
    assert "PSI" not in before

    services.evaluate(mode="all", model=EvaluationModel.objects.get(code=DRAFT))
    response = client.get(url)
    page = response.content.decode()
    comparison = response.context["comparison"]
    assert comparison["baseline"] == ACTIVE and comparison["candidate"] == DRAFT
    assert comparison["subjects"] == Subject.objects.organisations().count()
    assert f'data-psi="grades">{comparison["psi_grades"]:.4f}<' in page
    assert f'data-psi="scores">{comparison["psi_scores"]:.4f}<' in page
    assert escape(comparison["stability"]) in page and "等级迁移矩阵" in page
    rows = response.context["migration_rows"]
    assert [r["grade"] for r in rows] == ["A", "B", "C", "D"]
    assert [[c["n"] for c in r["cells"]] for r in rows] == comparison["migration"]["matrix"]
    assert sum(c["n"] for r in rows for c in r["cells"]) == comparison["subjects"]
    assert f'data-moved="up">{comparison["upgraded"]}<' in page
    assert f'data-moved="down">{comparison["downgraded"]}<' in page
    assert response.context["chart"]["comparison"]["candidate"] == [
        comparison["grades"]["candidate"][g] for g in "ABCD"
    ]
    assert "creditplus evaluate --all --model" not in page


def test_activation_is_refused_until_evaluated_then_done_by_the_platform_admin(
    scenario, platform_admin
):
    client = client_for(platform_admin)
    draft = EvaluationModel.objects.get(code=DRAFT)
    url = reverse("evaluation:activate", args=[DRAFT])
    assert "启用此版本" in client.get(reverse("evaluation:model", args=[DRAFT])).content.decode()
    assert client.get(url).status_code == 405

    refused = client.post(url, follow=True)
    assert refused.redirect_chain[-1][0] == reverse("evaluation:model", args=[DRAFT])
    assert f"评价模型 {DRAFT} 尚未进行全量评价" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert not AuditEvent.objects.filter(
        action="evaluation.model.activate", object_id=str(draft.pk)
    )

    services.evaluate(mode="all", model=draft)
    done = client.post(url, follow=True)
    assert f"已启用评价模型 {DRAFT}" in done.content.decode()
    draft.refresh_from_db()
    assert draft.status == "active" and draft.activated_by == platform_admin.username
    assert EvaluationModel.objects.get(code=ACTIVE).status == "retired"
    assert (
        AuditEvent.objects.filter(
            action="evaluation.model.activate", object_id=str(draft.pk)
        ).count()
        == 1
    )
    # The dashboard now shows the new version's distribution.
    dashboard = client.get(reverse("evaluation:dashboard"))
    assert dashboard.context["model"] == draft
    again = client.post(url, follow=True)
    assert f"评价模型 {DRAFT} 已是启用状态" in again.content.decode()
