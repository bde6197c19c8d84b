"""Rendering a stored 企业信用报告: the reports app's context (number, code, verification
link, page header strings) with this app's template, in a page or as an A4 PDF with the
Noto CJK fonts embedded (WeasyPrint), exactly like the public credit reports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

from creditplus.reports.models import CreditReport
from creditplus.reports.rendering import report_context


def render_pdf(report: CreditReport, request: HttpRequest | None = None) -> bytes:
    from weasyprint import HTML  # heavy import: only when a PDF is asked for

    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string("assessments/report_document.html", report_context(report, request))
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The document is self-contained; never let rendered text make the server fetch a URL.
    raise ValueError(f"reports fetch nothing: {url[:80]}")


def pdf_response(report: CreditReport, request: HttpRequest | None = None) -> HttpResponse:
    response = HttpResponse(render_pdf(report, request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
