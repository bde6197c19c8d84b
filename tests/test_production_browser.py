"""Production mode in a real browser: HTTPS redirect, HSTS, and a Content-Security-Policy
that the pages work under (ECharts included), with no violation on the main pages.

The server runs with CREDITPLUS_ENV=production behind a (simulated) TLS proxy: the browser
sends ``X-Forwarded-Proto: https`` as the proxy would, a plain request gets the redirect.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.server import ROOT, app_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRODUCTION = {
    "CREDITPLUS_ENV": "production",
    "DEBUG": "0",
    "SECRET_KEY": "test-production-secret-key-0123456789abcdef",
    "CREDITPLUS_PII_KEY": "cHJvZHVjdGlvbi10ZXN0LXBpaS1rZXktMzItYnl0ZXM=",
    "CREDITPLUS_AUDIT_KEY": "test-production-audit-key-0123456789abcdef",
    "ALLOWED_HOSTS": "127.0.0.1",
    "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
    "CREDITPLUS_BEHIND_TLS_PROXY": "1",
    # The browser itself talks plain HTTP to the server: it would not send Secure cookies.
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "CREDITPLUS_RATE_SEARCH_PER_MINUTE": "10000",
    "CREDITPLUS_RATE_SUBJECT_PER_MINUTE": "10000",
}
PUBLIC_PAGES = ["/", "/search?q=浦东", "/lists/", "/publicity/penalties/", "/inspections/"]
BACKOFFICE_PAGES = [
    "/backoffice/",
    "/backoffice/cockpit/",
    "/backoffice/evaluation/",
    "/backoffice/sanctions/",
    "/backoffice/records/quality/",
    "/backoffice/supervision/",
    "/api/v1/docs",
]
# Collects violations in the page before any of its scripts run.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""
USER = """
from django.contrib.auth.models import Group
from creditplus.accounts.choices import Role
from creditplus.accounts.models import User
user = User.objects.create_user("prod_office", password="Prod-pass-2026-x", first_name="区信用办")
user.groups.add(Group.objects.get(name=Role.CREDIT_OFFICE))
from tests.portal.browser_data import setup
setup()
"""
SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from creditplus.accounts.models import User
user = User.objects.get(username="prod_office")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("production")
    env = {**PRODUCTION, "CREDITPLUS_VAR_DIR": str(tmp)}
    import os

    subprocess.run(
        [sys.executable, "-m", "creditplus", "collectstatic", "--noinput", "-v0"],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    with app_server(tmp, env) as server:
        server.manage("shell", "-c", USER)
        yield server


def test_plain_http_is_redirected_to_https_and_https_answers_with_hsts(production_server):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as plain:
        opener.open(production_server.url + "/lists/")
    assert plain.value.code == 301
    assert plain.value.headers["Location"].startswith("https://127.0.0.1:")
    with opener.open(production_server.url + "/healthz") as health:  # load balancers: plain
        assert health.status == 200
    secure = urllib.request.Request(
        production_server.url + "/lists/", headers={"X-Forwarded-Proto": "https"}
    )
    with opener.open(secure) as response:
        assert response.status == 200
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script on this page: no nonce
    assert directives["object-src"] == "'none'"
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp


def _visit(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__csp")


def test_the_main_pages_work_under_the_policy(production_server, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.context.set_extra_http_headers({"X-Forwarded-Proto": "https"})  # as the TLS proxy
    page.add_init_script(WATCH)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))

    violations = {}
    for path in PUBLIC_PAGES:
        violations[path] = _visit(page, production_server.url + path)
    assert page.goto(production_server.url + "/").ok
    page.wait_for_load_state("networkidle")
    assert page.locator("canvas").count() > 0, (violations, console)  # ECharts drew the charts

    # Signed in with a session made on the server: the login form's CSRF check compares the
    # browser's Origin (plain http here, https behind a real proxy) with the forwarded scheme.
    key = production_server.manage("shell", "-c", SESSION).stdout.split()[-1]
    page.context.add_cookies([{"name": "sessionid", "value": key, "url": production_server.url}])
    for path in BACKOFFICE_PAGES:
        violations[path] = _visit(page, production_server.url + path)
    page.goto(production_server.url + "/backoffice/cockpit/")
    page.wait_for_load_state("networkidle")
    assert page.locator("canvas").count() > 0  # the cockpit's charts
    page.goto(production_server.url + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # Swagger UI ran

    assert {p: v for p, v in violations.items() if v} == {}
    assert [c for c in console if "Content Security Policy" in c or "Refused" in c] == []
    assert [c for c in console if "Error" in c and "favicon" not in c] == []
