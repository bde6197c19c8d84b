"""站内通知: each back-office user sees what was addressed to them, their department or
their role, newest first, paginated."""

from __future__ import annotations

import pytest
from django.urls import reverse

from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department, Notification
from tests.conftest import client_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_notifications_page_shows_only_what_is_addressed_to_the_user(
    officer, other_officer, credit_office
):
    Notification.objects.create(user=officer, title="给本人的通知", url="/backoffice/lists/1/")
    Notification.objects.create(department=officer.department, title="给市场监管局的通知")
    Notification.objects.create(department=other_officer.department, title="给税务局的通知")
    Notification.objects.create(role=Role.CREDIT_OFFICE, title="给信用办的通知")

    page = client_for(officer).get(reverse("accounts:notifications")).content.decode()
    assert "给本人的通知" in page and 'href="/backoffice/lists/1/"' in page
    assert "给市场监管局的通知" in page
    assert "给税务局的通知" not in page and "给信用办的通知" not in page

    page = client_for(credit_office).get(reverse("accounts:notifications")).content.decode()
    assert "给信用办的通知" in page and "给本人的通知" not in page


def test_notifications_are_newest_first_and_paginated(officer):
    Notification.objects.bulk_create(
        Notification(user=officer, title=f"通知{n:02d}") for n in range(35)
    )
    client = client_for(officer)
    first = client.get(reverse("accounts:notifications")).content.decode()
    assert "通知34" in first and "通知04" not in first and "第 1 / 2 页" in first
    second = client.get(reverse("accounts:notifications"), {"page": 2}).content.decode()
    assert "通知04" in second and "通知34" not in second


def test_notifications_page_is_for_signed_in_back_office_users(reference, window_clerk):
    anonymous = client_for(None).get(reverse("accounts:notifications"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    enterprise = make_user(Role.ENTERPRISE, username="qiye_user")
    assert client_for(enterprise).get(reverse("accounts:notifications")).status_code == 403
    assert client_for(window_clerk).get(reverse("accounts:notifications")).status_code == 200
    assert Department.objects.exists()
