"""Public side of the reports: the verification page ``/verify`` (anyone, rate-limited) and
"我的信用报告" in the enterprise area, where an enterprise account bound to its subject
issues and downloads its own public credit report — never another subject's."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from creditplus.errors import DomainError, Forbidden, NotFound, show_on_form
from creditplus.lists.objections import subject_of
from creditplus.pages import bound_subject_view
from creditplus.ratelimit import rate_limited
from creditplus.reports import rendering, services
from creditplus.reports.choices import ReportChannel
from creditplus.reports.forms import OwnReportForm, VerifyForm
from creditplus.reports.models import CreditReport
from creditplus.subjects.models import Subject

# The enterprise area's rule: signed in and bound to a subject, acting for it only.
own_subject_view = bound_subject_view(subject_of, "reports/my_unbound.html")


def _own_report(subject: Subject, number: str) -> CreditReport:
    report = services.own_reports(subject).select_related("subject").filter(number=number).first()
    if report is None:
        raise NotFound()
    return report


@own_subject_view
def my_reports(request: HttpRequest, subject: Subject) -> HttpResponse:
    """The subject's reports, and the form that issues a new one (网上自助查询)."""
    form = OwnReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = services.issue_enterprise_report(
                subject, request.user, ReportChannel.ONLINE, form.cleaned_data["purpose"]
            )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("已生成信用报告 %(no)s。") % {"no": report.number})
            return redirect("reports_portal:my_report", number=report.number)
    reports = services.own_reports(subject).order_by("-issued_at")[:50]
    return render(
        request, "reports/my_reports.html", {"subject": subject, "form": form, "reports": reports}
    )


@own_subject_view
def my_report(request: HttpRequest, subject: Subject, number: str) -> HttpResponse:
    """One own report as HTML (audited)."""
    report = _own_report(subject, number)
    services.record_view(report, "report.view")
    return render(request, "reports/my_report.html", rendering.report_context(report, request))


@own_subject_view
def my_report_pdf(request: HttpRequest, subject: Subject, number: str) -> HttpResponse:
    """One own report as PDF (audited)."""
    report = _own_report(subject, number)
    services.record_view(report, "report.download")
    return rendering.pdf_response(report, request)


@rate_limited("search")
def verify(request: HttpRequest) -> HttpResponse:
    """报告核验: with ``?no=&code=`` confirms whether that report was issued, when, for whom
    (natural persons masked) and by which window; a wrong code and an unknown number get the
    same answer, so the page cannot be used to discover report numbers."""
    result = None
    form = VerifyForm(request.GET if ("no" in request.GET or "code" in request.GET) else None)
    if form.is_bound and form.is_valid():
        result = services.verify(form.cleaned_data["no"], form.cleaned_data["code"])
    return render(request, "reports/verify.html", {"form": form, "result": result})
