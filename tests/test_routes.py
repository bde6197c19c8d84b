"""Every route of the platform is either declared public here or refuses anonymous users.

The test walks all URL patterns and all API operations that exist, so a new page or API
route that forgets its login or permission check fails here — and so does a public route
that nobody declared. Pages answer an anonymous user with the login page, API routes with
401. Department scope and permissions per route are tested in each app (tests/permissions.py).
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from creditplus.api import api

pytestmark = pytest.mark.django_db

# Pages anyone may open (the public site, login, health check).
PUBLIC_PAGES = {
    "healthz",
    "accounts:login",
    "accounts:logout",
    "portal:home",
    "portal:search",
    "portal:subject",
    "portal:licenses",
    "portal:penalties",
    "portal:lists",
    "portal:list_detail",
    "portal:commitments",
    "portal:inspections",
    "opendata:index",
    "opendata:file",
    "reports_portal:verify",
    # The enterprise's own sign-in and password reset (the password change asks for login).
    "portal:login",
    "portal:logout",
    "portal:password_reset",
    "portal:password_reset_done",
    "portal:password_reset_confirm",
    "portal:password_reset_complete",
}

# API operations without authentication (public reference data and public search).
PUBLIC_API = {
    ("GET", "/api/v1/departments"),
    ("GET", "/api/v1/catalog/items"),
    ("GET", "/api/v1/catalog/items/{code}"),
    ("GET", "/api/v1/matters"),
    ("GET", "/api/v1/subjects"),
    ("GET", "/api/v1/subjects/{code}"),
    ("GET", "/api/v1/measures"),
    ("GET", "/api/v1/opendata"),
    ("GET", "/api/v1/reports/verify"),
}

SKIPPED_NAMESPACES = {"admin"}  # Django admin: staff login of its own, tested below


def page_routes(patterns=None, namespace: str = "", prefix: str = ""):
    """(name, route) of every page URL pattern, outside the API and the admin."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            if p.namespace in SKIPPED_NAMESPACES or str(p.pattern).startswith("api/"):
                continue
            ns = ":".join(filter(None, [namespace, p.namespace or ""]))
            yield from page_routes(p.url_patterns, ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace else str(p.name)
            yield name, prefix + str(p.pattern)


def concrete(route: str) -> str:
    """A URL for ``route`` with sample values for its parameters."""
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):\w+>", "X", route)
    return "/" + route.lstrip("^").rstrip("$")


def api_operations():
    """(method, path, requires authentication) of every API operation."""
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            yield method.upper(), path, bool(op.get("security"))


def test_every_page_is_public_by_declaration_or_asks_anonymous_users_to_log_in(reference):
    anonymous = Client()
    open_to_anonymous = set()
    for name, route in page_routes():
        url = concrete(route)
        response = anonymous.get(url)
        if response.status_code == 405:
            response = anonymous.post(url)
        asks_login = response.status_code == 302 and "/login/" in response["Location"]
        if not asks_login:
            open_to_anonymous.add(name)
    assert open_to_anonymous == PUBLIC_PAGES


def test_every_api_operation_is_public_by_declaration_or_needs_credentials(reference):
    anonymous = Client()
    operations = list(api_operations())
    assert len(operations) > 30  # the walk sees the registered routers
    public = {(method, path) for method, path, secured in operations if not secured}
    assert public == PUBLIC_API
    for method, path, secured in operations:
        if not secured:
            continue
        url = re.sub(r"\{\w+\}", "1", path)
        response = anonymous.generic(method, url, data="{}", content_type="application/json")
        assert response.status_code == 401, (method, path, response.status_code)


def test_admin_asks_for_a_staff_login(reference):
    response = Client().get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
