from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
