"""Back-office pages of the query windows (查询窗口): issued reports, the enterprise report at
the window, the personal report with its recorded authorization, report view and PDF, and
the authorization record with its scanned file. Every read of a report or an authorization
is audited; scope and rules are decided in ``reports.services``."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from creditplus.accounts.permissions import backoffice_view
from creditplus.errors import DomainError, Forbidden, NotFound, show_on_form
from creditplus.pages import audited_page, querystring
from creditplus.reports import rendering, services
from creditplus.reports.choices import ReportChannel
from creditplus.reports.forms import EnterpriseReportForm, PersonalReportForm


@backoffice_view("reports.view_creditreport")
def index(request: HttpRequest) -> HttpResponse:
    """Reports issued in the user's scope, newest first (the page read is audited)."""
    qs = services.reports_for(request.user)
    q = request.GET.get("q", "").strip()[:40]
    if q:
        qs = qs.filter(number__startswith=q.upper())
    page = audited_page(
        request, qs, "report.list", "reports.creditreport", _("查看已出具的信用报告")
    )
    return render(
        request,
        "reports/index.html",
        {"page_obj": page, "q": q, "querystring_base": querystring(request)},
    )


@backoffice_view("reports.add_creditreport")
def enterprise_new(request: HttpRequest) -> HttpResponse:
    """The window issues a legal person's report after checking the business license."""
    form = EnterpriseReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subject = services.find_organisation(data["uscc"])
            report = services.issue_enterprise_report(
                subject,
                request.user,
                ReportChannel.WINDOW,
                data["purpose"],
                license_checked=data["license_checked"],
            )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("已出具信用报告 %(no)s。") % {"no": report.number})
            return redirect("reports:detail", number=report.number)
    return render(request, "reports/enterprise_new.html", {"form": form})


@backoffice_view("reports.add_personalauthorization")
def personal_new(request: HttpRequest) -> HttpResponse:
    """The window verifies identity, records the written authorization and issues the
    personal report, in this order; without a recorded authorization there is no report."""
    form = PersonalReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # One transaction: a report that cannot be issued leaves no authorization behind.
            with transaction.atomic():
                authorization = services.record_authorization(
                    request.user,
                    id_number=data["id_number"],
                    name=data["name"],
                    id_verification=data["id_verification"],
                    authorizer=data["authorizer"],
                    agent_name=data["agent_name"],
                    agent_id_number=data["agent_id_number"],
                    file=data["file"],
                    purpose=data["purpose"],
                    valid_until=data["valid_until"],
                )
                report = services.issue_personal_report(
                    authorization, request.user, data["purpose"]
                )
        except (Forbidden, NotFound):
            raise
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(
                request,
                _("已登记授权 %(a)s 并出具个人信用报告 %(no)s。")
                % {"a": authorization.number, "no": report.number},
            )
            return redirect("reports:detail", number=report.number)
    return render(request, "reports/personal_new.html", {"form": form})


@backoffice_view("reports.view_creditreport")
def detail(request: HttpRequest, number: str) -> HttpResponse:
    """One report as HTML (audited as ``report.view``)."""
    report = services.get_report_for(request.user, number)
    services.record_view(report, "report.view")
    return render(request, "reports/detail.html", rendering.report_context(report, request))


@backoffice_view("reports.view_creditreport")
def pdf(request: HttpRequest, number: str) -> HttpResponse:
    """One report as PDF (audited as ``report.download``)."""
    report = services.get_report_for(request.user, number)
    services.record_view(report, "report.download")
    return rendering.pdf_response(report, request)


@backoffice_view("reports.view_personalauthorization")
def authorization(request: HttpRequest, pk: int) -> HttpResponse:
    """One recorded authorization (audited as ``authorization.view``)."""
    obj = services.read_authorization(request.user, pk, "authorization.view")
    return render(
        request,
        "reports/authorization.html",
        {"authorization": obj, "reports": obj.reports.order_by("-issued_at")},
    )


@backoffice_view("reports.view_personalauthorization")
def authorization_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The scanned authorization, served only here (audited as ``authorization.file``)."""
    obj = services.read_authorization(request.user, pk, "authorization.file")
    # The type comes from the checked suffix, never from what the uploader's browser said.
    content_type = mimetypes.guess_type(obj.file_name)[0] or "application/octet-stream"
    response = FileResponse(
        obj.file.open("rb"),
        as_attachment=True,
        filename=f"{obj.number}{_suffix(obj.file_name)}",
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
