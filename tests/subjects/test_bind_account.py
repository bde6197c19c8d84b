"""Window clerks bind an enterprise user to its subject after checking the business license."""

from __future__ import annotations

import pytest

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent, Department
from creditplus.catalog.models import CatalogItem
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.subjects.models import SubjectAccount
from tests.conftest import client_for
from tests.factories import make_user
from tests.records.files import penalty

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject_code(reference):
    ingest_rows(
        [penalty(1)],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    return penalty(1)["统一社会信用代码"]


def test_a_clerk_binds_an_enterprise_user_once_and_it_is_audited(window_clerk, subject_code):
    user = make_user(username="qiye01")
    client = client_for(window_clerk)
    response = client.post(
        "/backoffice/subjects/accounts/bind/",
        {"username": "qiye01", "code": subject_code, "license_checked": "on"},
    )
    assert response.status_code == 302
    account = SubjectAccount.objects.get(user=user)
    assert account.subject.uscc == subject_code and account.bound_by == window_clerk.username
    assert Role.ENTERPRISE in type(user).objects.get(pk=user.pk).roles
    assert AuditEvent.objects.filter(action="subject.bind_account").count() == 1
    again = client.post(
        "/backoffice/subjects/accounts/bind/",
        {"username": "qiye01", "code": subject_code, "license_checked": "on"},
    )
    assert "already_bound" in again.content.decode()


def test_the_license_check_is_required(window_clerk, subject_code):
    make_user(username="qiye02")
    response = client_for(window_clerk).post(
        "/backoffice/subjects/accounts/bind/", {"username": "qiye02", "code": subject_code}
    )
    assert response.status_code == 200 and not SubjectAccount.objects.exists()


def test_only_window_clerks_may_bind(officer, subject_code):
    assert client_for(officer).get("/backoffice/subjects/accounts/bind/").status_code == 403
    assert client_for(None).get("/backoffice/subjects/accounts/bind/").status_code == 302


def test_government_accounts_cannot_be_bound(window_clerk, officer, subject_code):
    response = client_for(window_clerk).post(
        "/backoffice/subjects/accounts/bind/",
        {"username": officer.username, "code": subject_code, "license_checked": "on"},
    )
    assert "not_enterprise_user" in response.content.decode()


def test_enterprise_users_are_not_let_into_the_back_office(window_clerk, subject_code):
    from creditplus.subjects.services import bind_enterprise_user

    user = make_user(username="qiye03")
    bind_enterprise_user("qiye03", subject_code, verified_by="窗口核验营业执照", clerk="window")
    assert client_for(type(user).objects.get(pk=user.pk)).get("/backoffice/").status_code == 403
