"""Back-office pages of 信用张江 (``/backoffice/assessments/``): other-assessments by
assessors and banks (他评) with evidence, the assessments list in the user's scope with the
conflicts shown to the credit office, and for financial institutions the enterprises that
granted them access (their 企业信用报告 as HTML and PDF, only within a grant, every access
logged) and the financing matchmaking list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from creditplus.accounts.permissions import backoffice_view
from creditplus.assessments import services
from creditplus.assessments.choices import AccessAction
from creditplus.assessments.forms import MatchmakingFilter, OtherAssessmentForm
from creditplus.assessments.portal_views import _evidence_response
from creditplus.errors import DomainError, Forbidden, NotFound, show_on_form
from creditplus.pages import audit_read, audited_page, querystring
from creditplus.reports.rendering import pdf_response, report_context
from creditplus.reports.services import find_organisation


@backoffice_view("assessments.view_assessment")
def index(request: HttpRequest) -> HttpResponse:
    """Assessments in the user's scope (an institution's own, or all for the credit office)."""
    qs = services.assessments_for(request.user)
    kind = request.GET.get("kind", "")
    if kind in ("self", "other"):
        qs = qs.filter(kind=kind)
    q = request.GET.get("q", "").strip()[:18]
    if q:
        qs = qs.filter(subject__uscc=q.upper())
    page = audited_page(
        request, qs, "assessment.list", "assessments.assessment", _("查看信用自评及他评")
    )
    return render(
        request,
        "assessments/index.html",
        {"page_obj": page, "q": q, "kind": kind, "querystring_base": querystring(request)},
    )


@backoffice_view("assessments.add_assessment")
def new(request: HttpRequest) -> HttpResponse:
    """An assessor or bank submits its institution's assessment of an enterprise."""
    services.institution_of(request.user)  # 403 before the form for unlinked accounts
    questionnaire = services.active_questionnaire()
    form = OtherAssessmentForm(questionnaire, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            subject = find_organisation(form.cleaned_data["uscc"])
            assessment = services.submit_other_assessment(
                request.user,
                subject,
                form.answers(),
                form.files_by_question(),
                form.cleaned_data["comment"],
            )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("已提交他评 %(no)s。") % {"no": assessment.number})
            return redirect("assessments:detail", pk=assessment.pk)
    return render(request, "assessments/new.html", {"form": form, "questionnaire": questionnaire})


@backoffice_view("assessments.view_assessment")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One assessment with its answers; the credit office also sees the subject's conflicts."""
    assessment = services.read_assessment(request.user, pk)
    conflicts = services.conflicts(assessment.subject) if request.user.is_platform_wide else None
    return render(
        request,
        "assessments/detail.html",
        {
            "assessment": assessment,
            "rows": services.answer_rows(assessment),
            "conflicts": conflicts,
        },
    )


@backoffice_view("assessments.view_assessment")
def evidence(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_response(services.read_evidence(request.user, pk))


@backoffice_view("assessments.view_grant")
def finance(request: HttpRequest) -> HttpResponse:
    """The enterprises that granted the user's institution access, with grants in force."""
    grants = list(services.granted_subjects(request.user)[:500])
    audit_read("grant.granted", "assessments.grant", _("查看授权本机构的企业"), len(grants))
    return render(
        request,
        "assessments/finance.html",
        {"grants": grants, "institution": services.institution_of(request.user)},
    )


def _granted(request: HttpRequest, code: str, action: str) -> tuple[Any, Any]:
    """(grant, report) of an access under a grant in force, or (None, refusal page)."""
    try:
        subject = find_organisation(code)
        grant, report = services.access_report(request.user, subject, action)
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        if exc.status == 404:
            raise NotFound() from None
        return None, render(request, "assessments/refused.html", {"error": exc}, status=403)
    return grant, report


@backoffice_view("assessments.view_grant")
def finance_report(request: HttpRequest, code: str) -> HttpResponse:
    """A granting enterprise's 企业信用报告 (only within a grant in force; logged)."""
    grant, report = _granted(request, code, AccessAction.VIEW)
    if grant is None:
        return report
    return render(
        request,
        "assessments/finance_report.html",
        {**report_context(report, request), "grant": grant},
    )


@backoffice_view("assessments.view_grant")
def finance_report_pdf(request: HttpRequest, code: str) -> HttpResponse:
    grant, report = _granted(request, code, AccessAction.DOWNLOAD)
    if grant is None:
        return report
    return pdf_response(report, request, services.REPORT_BODY)


@backoffice_view("assessments.view_matchmaking")
def matchmaking(request: HttpRequest) -> HttpResponse:
    """Enterprises that opted in to financing matchmaking, by grade and industry."""
    form = MatchmakingFilter(request.GET or None)
    grade = industry = ""
    if form.is_valid():
        grade = form.cleaned_data["grade"]
        industry = form.cleaned_data["industry"].strip()
    qs = services.matchmaking(request.user, grade=grade, industry=industry)
    page = audited_page(
        request,
        qs,
        "financing.matchmaking",
        "assessments.financingprofile",
        _("查看融资对接企业名单"),
    )
    grades = services.grades_of([p.subject_id for p in page.object_list])
    rows = [(p, grades.get(p.subject_id, "")) for p in page.object_list]
    return render(
        request,
        "assessments/matchmaking.html",
        {"form": form, "page_obj": page, "rows": rows, "querystring_base": querystring(request)},
    )
