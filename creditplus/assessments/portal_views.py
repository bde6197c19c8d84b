"""信用张江 in the enterprise area (我的信用 → 信用张江, ``/my/assessments/``): the bound
enterprise fills its self-assessment with evidence, sees the assessments others made of it
and where they contradict its own answers, issues its 企业信用报告, grants banks access to
it (and revokes), reads who accessed it and when, and opts in to financing matchmaking.
Mounted before the portal's URLs, without editing the portal app."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from creditplus.accounts import audit
from creditplus.assessments import services
from creditplus.assessments.forms import (
    FinancingForm,
    GrantForm,
    QuestionnaireForm,
    ReportForm,
)
from creditplus.assessments.models import FinancingProfile
from creditplus.errors import DomainError, Forbidden, NotFound, show_on_form
from creditplus.pages import bound_subject_view
from creditplus.reports import services as reports
from creditplus.reports.rendering import pdf_response, report_context
from creditplus.subjects.models import Subject

# Signed in and bound to an enterprise (else a 403 page saying how), acting for it only.
enterprise_view = bound_subject_view(services.subject_of, "assessments/my_unbound.html")


@enterprise_view
def index(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The enterprise's 信用张江 page: assessments, conflicts, reports, grants, accesses."""
    assessments = list(
        services.assessments_for(request.user).current().order_by("kind", "-submitted_at")
    )
    grants = list(services.grants_for(request.user)[:100])
    accesses = list(services.own_accesses(subject)[:100])
    profile = FinancingProfile.objects.filter(subject=subject).first()
    financing = FinancingForm(
        initial={"opted_in": profile.opted_in, "need": profile.need} if profile else None
    )
    conflicts = services.conflicts(subject)
    audit.record(
        "assessment.own.view",
        object_type="assessments.assessment",
        subject=subject.code,
        after={"assessments": len(assessments), "accesses": len(accesses)},
    )
    return render(
        request,
        "assessments/my_index.html",
        {
            "subject": subject,
            "assessments": assessments,
            "conflicts": conflicts,
            "grants": grants,
            "accesses": accesses,
            "financing": financing,
            "profile": profile,
            "reports": services.own_reports(subject).order_by("-issued_at")[:50],
            "report_form": ReportForm(),
            "today": timezone.localdate(),
        },
    )


@enterprise_view
def self_assessment(request: HttpRequest, subject: Subject) -> HttpResponse:
    """Fill (or refill) the self-assessment, with optional evidence per question."""
    questionnaire = services.active_questionnaire()
    form = QuestionnaireForm(questionnaire, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.submit_self_assessment(
                request.user,
                form.answers(),
                form.files_by_question(),
                form.cleaned_data["comment"],
            )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("已提交企业信用自评 %(no)s。") % {"no": assessment.number})
            return redirect("assessments_portal:index")
    return render(
        request,
        "assessments/my_self.html",
        {"subject": subject, "form": form, "questionnaire": questionnaire},
    )


@enterprise_view
def assessment(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    item = services.read_assessment(request.user, pk)
    return render(
        request,
        "assessments/my_assessment.html",
        {"subject": subject, "assessment": item, "rows": services.answer_rows(item)},
    )


def _evidence_response(answer: Any) -> FileResponse:
    content_type = mimetypes.guess_type(answer.evidence_name)[0] or "application/octet-stream"
    response = FileResponse(
        answer.evidence.open("rb"),
        as_attachment=True,
        filename=answer.evidence_name,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@enterprise_view
def evidence(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    return _evidence_response(services.read_evidence(request.user, pk))


@enterprise_view
def grant_new(request: HttpRequest, subject: Subject) -> HttpResponse:
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant = services.create_grant(
                request.user,
                data["institution"],
                data["purpose"],
                data["valid_until"],
                data["valid_from"],
            )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(
                request,
                _("已授权 %(i)s 查阅本企业信用报告（%(no)s）。")
                % {"i": grant.institution.name, "no": grant.number},
            )
            return redirect("assessments_portal:index")
    return render(request, "assessments/my_grant_new.html", {"subject": subject, "form": form})


@require_POST
@enterprise_view
def grant_revoke(request: HttpRequest, subject: Subject, pk: int) -> HttpResponse:
    try:
        grant = services.revoke_grant(request.user, pk)
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, f"{exc.message}（{exc.code}）")
    else:
        messages.success(request, _("已撤销授权 %(no)s。") % {"no": grant.number})
    return redirect("assessments_portal:index")


@require_POST
@enterprise_view
def financing(request: HttpRequest, subject: Subject) -> HttpResponse:
    form = FinancingForm(request.POST)
    if form.is_valid():
        services.set_financing(
            request.user, form.cleaned_data["opted_in"], form.cleaned_data["need"]
        )
        messages.success(request, _("已保存融资对接意向。"))
    return redirect("assessments_portal:index")


@require_POST
@enterprise_view
def report_new(request: HttpRequest, subject: Subject) -> HttpResponse:
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写报告用途"))
        return redirect("assessments_portal:index")
    report = services.issue_own_report(request.user, form.cleaned_data["purpose"])
    messages.success(request, _("已生成企业信用报告 %(no)s。") % {"no": report.number})
    return redirect("assessments_portal:report", number=report.number)


def _own_report(subject: Subject, number: str) -> Any:
    report = services.own_reports(subject).select_related("subject").filter(number=number).first()
    if report is None:
        raise NotFound()
    return report


@enterprise_view
def report(request: HttpRequest, subject: Subject, number: str) -> HttpResponse:
    item = _own_report(subject, number)
    reports.record_view(item, "report.view")
    return render(request, "assessments/my_report.html", report_context(item, request))


@enterprise_view
def report_pdf(request: HttpRequest, subject: Subject, number: str) -> HttpResponse:
    item = _own_report(subject, number)
    reports.record_view(item, "report.download")
    return pdf_response(item, request, services.REPORT_BODY)
