"""Shared fixtures: reference data and the named personas of every permission test.

Tests run inside a transaction that is rolled back (pytest-django's ``db``). Do not use
``transactional_db``: flushing tables would hit the audit log's append-only trigger. Tests
that need committed data in another process use their own throwaway database.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import settings

from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department
from tests.factories import make_user

# Fixtures shared across apps (the list lifecycle is the starting point of later features).
pytest_plugins = ["tests.lists.fixtures"]

# `make test` runs with --hypothesis-profile=ci: the same examples on every run, so a red CI
# is always reproducible. Plain `pytest` keeps exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference data once into each test database (committed before any test), so
    that every test's rolled-back transaction starts from it instead of reloading it."""
    with django_db_blocker.unblock():
        call_command("load_reference", stdout=StringIO())


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Tests create many users: hash their passwords quickly (the configured hasher is
    Django's default PBKDF2, deliberately slow, and not what these tests are about)."""
    from django.conf import settings as django_settings
    from django.contrib.auth import hashers

    configured = django_settings.PASSWORD_HASHERS
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()
    yield
    django_settings.PASSWORD_HASHERS = configured
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True)
def fresh_request_state():
    """Each test starts with empty rate-limit counters (tests run many searches from one
    address; the rate-limit tests set their own low limits) and leaves the default language
    active (a request to an /en/ page activates English for the rest of its thread)."""
    from django.conf import settings as django_settings
    from django.core.cache import cache
    from django.utils import translation

    cache.clear()
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def reference(db):
    """The reference data (26 departments, role groups…): loaded once per test database by
    ``django_db_setup``; reloaded here only if a test removed it."""
    if not Department.objects.exists():
        call_command("load_reference", stdout=StringIO())


@pytest.fixture
def credit_office(reference):
    return make_user(Role.CREDIT_OFFICE, username="xinyongban", first_name="区信用办")


@pytest.fixture
def officer(reference):
    """A department officer of 区市场监管局 (SCJG)."""
    return make_user(Role.DEPT_OFFICER, "SCJG", username="scjg_officer")


@pytest.fixture
def other_officer(reference):
    """A department officer of another department, 区税务局 (SW)."""
    return make_user(Role.DEPT_OFFICER, "SW", username="sw_officer")


@pytest.fixture
def window_clerk(reference):
    return make_user(Role.WINDOW_CLERK, username="window")


@pytest.fixture
def bank_user(reference):
    return make_user(Role.FINANCIAL, username="bank")


@pytest.fixture
def platform_admin(reference):
    return make_user(Role.PLATFORM_ADMIN, username="root", is_staff=True, is_superuser=True)


def client_for(user) -> Client:
    """A test client signed in as ``user`` (or anonymous for None)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """A running creditplus server on its own database (see tests/server.py). Its rate limits
    are high: the browser tests share it and must never be refused (the rate-limit test starts
    its own server with low limits)."""
    from tests.server import app_server as start

    high_limits = {
        "CREDITPLUS_RATE_SEARCH_PER_MINUTE": "10000",
        "CREDITPLUS_RATE_SUBJECT_PER_MINUTE": "10000",
    }
    with start(tmp_path_factory.mktemp("server"), high_limits) as server:
        yield server


@pytest.fixture
def browser_page():
    """A Playwright page in Debian's Chromium (headless, phone-sized, Chinese locale)."""
    import os

    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("Chromium missing: run scripts/ensure-system-deps.sh chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        yield context.new_page()
        browser.close()
