"""API authentication: bearer tokens for department systems and banks, or the session.

Kept apart from ``creditplus.api`` (which only mounts routers) so that every app's API
module can import ``AUTH`` without importing the project-level API while it is loading.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from creditplus.accounts.audit import context_for_user, set_context
from creditplus.errors import DomainError


class CsrfFailed(DomainError):
    """A session-authenticated write without a valid CSRF token (a cross-site request)."""

    status = 403

    def __init__(self) -> None:
        super().__init__(
            "csrf_failed",
            _("请求缺少有效的 CSRF 令牌：请刷新页面后重试，或使用接口令牌调用"),
        )


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` for department systems and banks."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from creditplus.accounts.services import authenticate_token

        api_token = authenticate_token(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token
        set_context(
            context_for_user(
                api_token.user,
                token=api_token.name,
                request_id=getattr(request, "request_id", ""),
                ip=request.META.get("REMOTE_ADDR", "")[:45],
            )
        )
        return api_token.user


class SessionUser(APIKeyCookie):
    """A signed-in back-office user (session cookie, CSRF-checked on unsafe methods)."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # The CSRF check runs in authenticate, after we know a session user is there: an
        # anonymous request gets 401, a signed-in one without the token 403 csrf_failed.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_system:
            return None
        # The API's URLs are csrf_exempt for token callers; a browser's cookie is not proof
        # of intent, so session writes need Django's CSRF token (safe methods pass).
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            if check_csrf(request) is not None:
                raise CsrfFailed()
        return user


AUTH = [BearerToken(), SessionUser(csrf=True)]
