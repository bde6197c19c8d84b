"""Login throttling (django-axes): the Chinese lockout page and the audit of failed logins.

django-axes counts failures per account and per client address (settings: AXES_*); these
functions give the refusal its page and write every failed login and every lockout to the
audit chain, so that password guessing is visible in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from creditplus.accounts import audit


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """429 with the Chinese explanation (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    response = render(request, "accounts/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def _username(credentials: dict[str, Any] | None) -> str:
    return str((credentials or {}).get("username", ""))[:150]


def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_kw: Any):
    """Every failed login (wrong password, unknown account, or refused while locked)."""
    audit.record(
        "login.failed",
        object_type="accounts.user",
        object_repr=_username(credentials),
        purpose=_("登录失败"),
        after={"path": getattr(request, "path", "")[:200]},
    )


def audit_locked_out(
    sender: Any, request: Any = None, username: str = "", ip_address: str = "", **_kw: Any
):
    """The moment an account or a client reaches the failure limit."""
    audit.record(
        "login.locked_out",
        object_type="accounts.user",
        object_repr=(username or "")[:150],
        purpose=_("连续登录失败，暂时锁定"),
        after={"ip": (ip_address or "")[:45], "limit": settings.AXES_FAILURE_LIMIT},
    )
