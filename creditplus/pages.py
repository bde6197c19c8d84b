"""Helpers shared by the pages: query strings for pagination links, paging, CSV downloads
that spreadsheet software opens correctly and safely, and the enterprise area's rule for
accounts bound to a subject."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from creditplus.accounts import audit
from creditplus.errors import Forbidden, NotFound

PAGE_SIZE = 30
# The highest page number a list accepts (API and pages): deep enough for any real list, and
# far below where the offset overflows SQLite's 64-bit integers (a server error).
PAGE_MAX = 100_000

Column = tuple[Any, Callable[[Any], Any]]
View = Callable[..., HttpResponse]


def bound_subject_view(
    subject_of: Callable[[Any], Any], unbound_template: str
) -> Callable[[View], View]:
    """Decorator factory for the enterprise area (我的信用 and its services): anonymous users go
    to the login page; an account ``subject_of`` refuses (not bound to a subject) gets
    ``unbound_template`` saying how to bind (403); the view receives the bound subject and
    acts for it only. :class:`NotFound` / :class:`Forbidden` raised inside become 404 / 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                subject = subject_of(request.user)
            except Forbidden as exc:
                return render(request, unbound_template, {"message": exc.message}, status=403)
            try:
                return view(request, subject, *args, **kwargs)
            except NotFound as exc:
                raise Http404(str(exc.message)) from None
            except Forbidden:
                raise PermissionDenied from None

        return wrapped

    return decorator


def querystring(request: HttpRequest, **replace: str) -> str:
    """The current query without page/format (and with ``replace``), ending in ``&``."""
    query: QueryDict = request.GET.copy()
    for key in ("page", "format", *replace):
        query.pop(key, None)
    for key, value in replace.items():
        query[key] = value
    base = query.urlencode()
    return f"{base}&" if base else ""


def page_of(request: HttpRequest, qs: Any, size: int = PAGE_SIZE) -> Page:
    """The page of ``qs`` named by ``?page=`` (the last one when out of range)."""
    return Paginator(qs, size).get_page(request.GET.get("page"))


def audit_read(action: str, object_type: str, purpose: str, rows: int, query: str = "") -> None:
    """Audit a non-public list read (a page of tasks, alerts, entries…): what was looked at
    with which filters, and how many rows were shown."""
    audit.record(
        action, object_type=object_type, purpose=purpose, after={"rows": rows, "query": query[:500]}
    )


def audited_page(
    request: HttpRequest, qs: Any, action: str, object_type: str, purpose: str
) -> Page:
    """:func:`page_of`, with the read audited (:func:`audit_read`)."""
    page = page_of(request, qs)
    audit_read(action, object_type, purpose, len(page.object_list), request.GET.urlencode())
    return page


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheet software will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(
    columns: Iterable[Column], rows: Iterable[Any], filename: str
) -> tuple[HttpResponse, int]:
    """A UTF-8 (with BOM, for Excel) CSV download of ``rows``, and the number of rows written."""
    columns = list(columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for label, _get in columns])
    n = 0
    for row in rows:
        writer.writerow([csv_cell(get(row)) for _label, get in columns])
        n += 1
    response = HttpResponse(
        b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response, n
