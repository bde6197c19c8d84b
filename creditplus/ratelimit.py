"""Rate limits per client on the public pages that scrapers want (search, subject pages).

A one-minute window per client address and scope, counted by django-ratelimit in the
default cache; the limits are settings (``CREDITPLUS_RATE_LIMITS``). Over the limit a page
answers 429 with a Chinese explanation and ``Retry-After``; an API route raises
:class:`RateLimited`, which the API turns into its error body.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import get_usage

from creditplus.errors import DomainError


class RateLimited(DomainError):
    """Too many requests from one client in the current minute."""

    status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "rate_limited",
            _("您的访问过于频繁，请 %(seconds)s 秒后再试。") % {"seconds": retry_after},
        )
        self.retry_after = retry_after


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or the nearest untrusted address of
    ``X-Forwarded-For`` when the request came through a trusted proxy."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.CREDITPLUS_TRUSTED_PROXIES
    if remote in trusted:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            if hop not in trusted:
                return hop
    return remote


def check(request: HttpRequest, scope: str) -> None:
    """Count one request of ``scope`` for the client; raise :class:`RateLimited` when the
    client has used up this minute's allowance."""
    usage = get_usage(
        request,
        group=scope,
        key=lambda _group, req: client_address(req),
        rate=f"{settings.CREDITPLUS_RATE_LIMITS[scope]}/m",
        increment=True,
    )
    if usage and usage["should_limit"]:
        raise RateLimited(retry_after=max(1, int(usage["time_left"])))


def rate_limited(
    scope: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorator for public pages: over the limit, a 429 page says when to try again."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                check(request, scope)
            except RateLimited as exc:
                response = render(
                    request, "rate_limited.html", {"message": exc.message}, status=429
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
