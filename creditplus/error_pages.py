"""The site's own 403 and 404 pages, in Chinese, in the layout of the area the request was for:
the back office (工作台) or the public site and enterprise area (portal).

Django's default pages are a bare English "403 Forbidden" and, with DEBUG on, a debug page;
neither tells a user what happened or where to go. Wired as ``handler403`` / ``handler404``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language_from_path

BACKOFFICE_PREFIX = "backoffice/"


def in_backoffice(path: str) -> bool:
    """Whether ``path`` (with or without a language prefix) is a back-office page."""
    parts = path.lstrip("/").split("/", 1)
    if get_language_from_path(path) and len(parts) == 2:
        path = parts[1]
    return path.lstrip("/").startswith(BACKOFFICE_PREFIX)


def _render(request: HttpRequest, template: str, status: int, message: str = "") -> HttpResponse:
    base = "backoffice_base.html" if in_backoffice(request.path) else "portal_base.html"
    return render(request, template, {"base": base, "message": message}, status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: the user is signed in but the page is outside their role or department. A reason
    given by the code (a Chinese sentence) is shown; Django's bare default text is not."""
    message = str(exception) if exception is not None else ""
    if message.isascii():  # e.g. "Forbidden" or empty: not written for the user
        message = ""
    return _render(request, "errors/403.html", 403, message)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: no such page, or an object outside the user's scope (which is not revealed)."""
    return _render(request, "errors/404.html", 404)
