"""Password guessing is throttled per account and per client, audited, explained in Chinese.

The outside probe logged in with the right password after 40 wrong ones, on the back office
login and on the admin's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from creditplus.accounts.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db

LOGIN = "/backoffice/login/"
PASSWORD = "pw-Secret-123"  # tests.factories.make_user


def attempt(url: str, username: str, password: str, ip: str = "198.51.100.7"):
    return Client(REMOTE_ADDR=ip).post(url, {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and "/login/" not in response["Location"]


def test_the_right_password_after_the_failure_limit_is_refused(officer):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = attempt(LOGIN, officer.username, "wrong")
        assert response.status_code == 200  # the form again, with its error
    assert attempt(LOGIN, officer.username, "wrong").status_code == 429  # the limit-th
    refused = attempt(LOGIN, officer.username, PASSWORD)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "登录已被暂时锁定" in page and f"连续输错 {limit} 次" in page
    assert int(refused["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert (
        AuditEvent.objects.filter(action="login.failed", object_repr=officer.username).count()
        >= limit
    )
    locked = AuditEvent.objects.filter(action="login.locked_out", object_repr=officer.username)
    assert locked.exists() and locked.first().after["ip"] == "198.51.100.7"


def test_an_account_is_locked_whatever_address_the_guesses_come_from(officer):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGIN, officer.username, "wrong", ip=f"203.0.113.{n + 1}")
    assert attempt(LOGIN, officer.username, PASSWORD, ip="192.0.2.99").status_code == 429


def test_a_client_guessing_many_accounts_is_locked_out(officer, other_officer):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGIN, f"guess{n}", "wrong", ip="203.0.113.50")
    assert attempt(LOGIN, officer.username, PASSWORD, ip="203.0.113.50").status_code == 429
    # Another client signs the same account in.
    assert logged_in(attempt(LOGIN, officer.username, PASSWORD, ip="192.0.2.10"))


def test_the_admin_login_is_throttled_too(platform_admin):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("/admin/login/", platform_admin.username, "wrong")
    response = attempt("/admin/login/", platform_admin.username, PASSWORD)
    assert response.status_code == 429 and "登录已被暂时锁定" in response.content.decode()


def test_the_lock_ends_after_the_cool_off(officer):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGIN, officer.username, "wrong")
    assert attempt(LOGIN, officer.username, PASSWORD).status_code == 429
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    with time_machine.travel(later):
        assert logged_in(attempt(LOGIN, officer.username, PASSWORD))


def test_a_few_mistakes_then_success_resets_the_count(reference):
    user = make_user(username="careful")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(LOGIN, user.username, "wrong")
    assert logged_in(attempt(LOGIN, user.username, PASSWORD))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(LOGIN, user.username, "wrong")
    assert logged_in(attempt(LOGIN, user.username, PASSWORD))
