from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from creditplus.accounts.audit import _context, context_for_user

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed ``X-Request-ID``) for logs and audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class AuditContextMiddleware:
    """Set the audit context (actor, department, request id, address) for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = context_for_user(
            getattr(request, "user", None),
            request_id=getattr(request, "request_id", ""),
            ip=request.META.get("REMOTE_ADDR", "")[:45],
        )
        token = _context.set(ctx)
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


# A JSON string escape for U+0000 (an odd number of backslashes before "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _nul_field(request: HttpRequest) -> str | None:
    """The name of the first input holding a NUL character ("" when it is not a named
    field), or None. Files may hold NUL bytes; their contents are the readers' business."""
    if "\x00" in request.path:
        return ""
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return key.replace("\x00", "")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.content_type == "application/json":
        return "" if _JSON_NUL.search(request.body) else None
    # Multipart: parsing here comes before any view could set its own upload handlers (none
    # does; one that must would need to be exempted here).
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.POST.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return key.replace("\x00", "")
    return None


class RejectNulMiddleware:
    """Refuse a request whose URL, query or form fields hold a NUL character: no name,
    code or text contains one; PostgreSQL refuses it in text and SQLite's full-text
    search cuts the query there (both a server error before this check)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = _("输入中含有空字符（NUL），请删除后重试")
        if request.path.startswith("/api/"):
            body = {"code": "nul_character", "message": str(message), "field": field or None}
            return JsonResponse(body, status=400, json_dumps_params={"ensure_ascii": False})
        return render(request, "bad_request.html", {"message": message}, status=400)
