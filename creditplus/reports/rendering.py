"""Rendering a stored report: the same template (``reports/_report.html``) inside a back-office
or portal page, and inside a print document that WeasyPrint turns into an A4 PDF with the
report number and verification code in the page header and the page numbers and the
verification address in the footer. Chinese text is set in the Noto CJK fonts, named
explicitly so that WeasyPrint embeds (subsets of) them in the PDF."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from creditplus.reports import services
from creditplus.reports.models import CreditReport

REPORT_BODY = "reports/_report.html"


def site_base(request: HttpRequest | None) -> str:
    """The public address printed on reports: ``CREDITPLUS_SITE_URL`` when configured, else
    the address the request came in on."""
    configured = settings.CREDITPLUS_SITE_URL
    if configured:
        return configured.rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return ""


def css_string(text: str) -> str:
    """``text`` as the inside of a double-quoted CSS string in a ``<style>`` element (page
    header and footer boxes), safe against quotes and a closing tag."""
    escaped = text.replace("\\", "\\5C ").replace('"', "\\22 ").replace("<", "\\3C ")
    return mark_safe(escaped.replace("\n", "\\A "))  # noqa: S308 — escaped just above


def report_context(report: CreditReport, request: HttpRequest | None = None) -> dict[str, Any]:
    """What ``reports/_report.html`` needs: the snapshot, number, code and verification link."""
    code = services.report_code(report)
    link = services.verify_url(report, site_base(request))
    return {
        "report": report,
        "content": report.content,
        "code": code,
        "verify_link": link,
        "page_header": css_string(f"报告编号：{report.number}　验证码：{code}"),
        "page_platform": css_string(str(report.content.get("platform", ""))),
        "page_verify": css_string(link),
    }


def render_pdf(
    report: CreditReport, request: HttpRequest | None = None, body: str = REPORT_BODY
) -> bytes:
    """The report as an A4 PDF with embedded CJK fonts, rendered from its stored snapshot
    (always in the platform language: it is the official document). ``body`` is the template
    of the report's content: the public credit report's, or another app's report kind (the
    企业信用报告 of 信用张江) printed on the same numbered, verifiable pages."""
    from weasyprint import HTML  # heavy import: only when a PDF is asked for

    context = {**report_context(report, request), "body_template": body}
    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string("reports/report_document.html", context)
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The document is self-contained; never let rendered text make the server fetch a URL.
    raise ValueError(f"reports fetch nothing: {url[:80]}")


def pdf_response(
    report: CreditReport, request: HttpRequest | None = None, body: str = REPORT_BODY
) -> HttpResponse:
    """A download of the report's PDF (see :func:`render_pdf`), named by its number."""
    response = HttpResponse(render_pdf(report, request, body), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
