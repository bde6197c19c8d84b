"""Helpers shared by the pages: query strings for pagination links, paging, CSV downloads
that spreadsheet software opens correctly and safely, and the enterprise area's rule for
accounts bound to a subject."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone

from creditplus.accounts import audit
from creditplus.csvfiles import csv_bytes
from creditplus.errors import DomainError, Forbidden, NotFound, as_page, show_on_form

PAGE_SIZE = 30
# The highest page number a list accepts (API and pages): deep enough for any real list, and
# far below where the offset overflows SQLite's 64-bit integers (a server error).
PAGE_MAX = 100_000

Column = tuple[Any, Callable[[Any], Any]]
View = Callable[..., HttpResponse]


def bound_subject_view(
    subject_of: Callable[[Any], Any], unbound_template: str, login_url: str = "portal:login"
) -> Callable[[View], View]:
    """Decorator factory for the enterprise area (我的信用 and its services): anonymous users go
    to the enterprise sign-in page (``login_url``); an account ``subject_of`` refuses (not bound to a subject) gets
    ``unbound_template`` saying how to bind (403); the view receives the bound subject and
    acts for it only. :class:`NotFound` / :class:`Forbidden` raised inside become 404 / 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url)
            try:
                subject = subject_of(request.user)
            except Forbidden as exc:
                return render(request, unbound_template, {"message": exc.message}, status=403)
            return as_page(request, lambda: view(request, subject, *args, **kwargs), None)

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


def csv_response(
    columns: Iterable[Column], rows: Iterable[Any], filename: str
) -> tuple[HttpResponse, int]:
    """A CSV download of ``rows`` (the project's one writer, :mod:`creditplus.csvfiles`), and
    the number of rows written."""
    columns = list(columns)
    content, n = csv_bytes(
        [str(label) for label, _get in columns], ([get(row) for _l, get in columns] for row in rows)
    )
    return csv_download(content, filename), n


def audited_csv(
    columns: Iterable[Column],
    qs: Any,
    name: str,
    action: str,
    purpose: str,
    after: dict[str, Any] | None = None,
) -> HttpResponse:
    """A back-office export: ``qs`` as ``<name>-<date>.csv`` (:func:`csv_response`), audited as
    ``action`` on ``qs``'s model with the number of rows and ``after`` (the filters…)."""
    stamp = timezone.localdate().strftime("%Y%m%d")
    response, n = csv_response(columns, qs.iterator(chunk_size=500), f"{name}-{stamp}.csv")
    audit.record(
        action,
        object_type=qs.model._meta.label_lower,
        purpose=purpose,
        after={"rows": n, **(after or {})},
    )
    return response


def filters_of(form: forms.Form) -> dict[str, str]:
    """The filters a valid filter form was given (for the audit of an export)."""
    return {k: str(v) for k, v in (form.cleaned_data if form.is_valid() else {}).items() if v}


def decision_field(label: Any, choices: list[tuple[str, Any]]) -> forms.ChoiceField:
    """A handling decision as radio buttons, the first (the usual) one preselected."""
    return forms.ChoiceField(
        label=label, choices=choices, widget=forms.RadioSelect, initial=choices[0][0]
    )


def note_field(label: Any, help_text: Any = "", *, max_length: int = 2000) -> forms.CharField:
    """The optional note that goes with a decision (the service requires it for a refusal)."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=help_text,
    )


def post_action(
    request: HttpRequest,
    action: Callable[[], str],
    back: HttpResponse,
    form: forms.Form | None = None,
) -> HttpResponse | None:
    """Run a posted form's service call ``action``, which returns the success message: then
    the message, and ``back``. A refusal goes on ``form`` and None is returned (the view
    renders the form again); without a form (the user may not act here, so no form is shown)
    it becomes a message, and ``back``. :class:`NotFound` / :class:`Forbidden` propagate to
    the page decorator (the 404, or the 403 page saying why)."""
    try:
        message = action()
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:
        if form is None:
            messages.error(request, str(exc.message))
            return back
        show_on_form(form, exc)
        return None
    messages.success(request, message)
    return back


def csv_download(content: bytes, filename: str) -> HttpResponse:
    """CSV bytes made by :func:`creditplus.csvfiles.csv_bytes` as an attachment."""
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
