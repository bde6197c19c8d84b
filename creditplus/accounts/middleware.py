from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.module_loading import import_string
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


# The innermost handler of the chain being built (set by TokenApiEnd, read by TokenApiMiddleware;
# per thread, as two handlers may load their middleware at once).
_chain_end = threading.local()
_HOOKS = ("process_view", "process_exception", "process_template_response")


def is_token_api_call(request: HttpRequest) -> bool:
    """An API call that authenticates with a bearer token (a department system or a bank)."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    return request.path_info.startswith("/api/") and auth[:7].lower() == "bearer "


class TokenApiMiddleware:
    """First in MIDDLEWARE: a token-authenticated API call skips the browser's middleware.

    A department system calling ``/api/`` with ``Authorization: Bearer`` has no session, cookie,
    form or page, so sessions, CSRF, session authentication, locale negotiation, messages,
    login throttling, CSP and frame options do nothing for it, yet they cost about a third of
    a credit check's CPU (docs/benchmarks.md). Such a call runs through
    ``settings.TOKEN_API_MIDDLEWARE`` instead (security headers, request id, audit context,
    NUL check) and then the same view handling as every request, where :class:`TokenApiEnd`
    (last in MIDDLEWARE) marks it. It is answered in the default language, with
    ``Content-Length`` set as CommonMiddleware sets it. A bearer token that fails is a 401:
    a session cookie sent along is not looked at."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        chain = getattr(_chain_end, "handler", None)
        if chain is None:
            raise ImproperlyConfigured("TokenApiEnd must be the last entry of MIDDLEWARE")
        _chain_end.handler = None
        for path in reversed(settings.TOKEN_API_MIDDLEWARE):
            middleware = import_string(path)(chain)
            # Django's handler calls these hooks only for the middleware in MIDDLEWARE
            if any(hasattr(middleware, hook) for hook in _HOOKS):
                raise ImproperlyConfigured(f"{path} has hooks a token API chain cannot run")
            chain = convert_exception_to_response(middleware)
        self.token_chain = chain

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_token_api_call(request):
            return self.get_response(request)
        # A thread keeps the language of its last request: answer in the default one.
        translation.activate(settings.LANGUAGE_CODE)
        request.user = AnonymousUser()  # until the token authenticates (public routes stay so)
        response = self.token_chain(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response


class TokenApiEnd:
    """Last in MIDDLEWARE: where the token API chain (:class:`TokenApiMiddleware`) joins the
    view handling (URL resolution, view middleware, the view, exception middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        _chain_end.handler = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
