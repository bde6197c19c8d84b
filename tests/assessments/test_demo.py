"""The assessments_demo command: the 信用张江 walk-through of `make demo`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from creditplus.accounts.models import AuditEvent
from creditplus.assessments import services
from creditplus.assessments.models import Assessment, FinancingProfile, Grant, GrantAccess
from creditplus.subjects.services import bind_enterprise_user
from tests.factories import make_organisations

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_accounts(reference):
    call_command("demo_accounts", stdout=StringIO(), stderr=StringIO())


def test_the_demo_needs_the_bound_enterprise_account(demo_accounts):
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("assessments_demo", stdout=StringIO(), stderr=err)
    assert "demo_enterprise_missing" in err.getvalue() and "lists_demo" in err.getvalue()


def test_the_demo_walks_the_services_once(demo_accounts):
    company, *_others = make_organisations(40, start=8100)
    # What lists_demo does: the enterprise demo account (made by demo_accounts) bound at a window.
    bind_enterprise_user("qiye", company.uscc, verified_by="演示数据", clerk="chuangkou")

    out = StringIO()
    call_command("assessments_demo", stdout=out)
    current = Assessment.objects.current().filter(subject=company)
    assert current.filter(kind="self").count() == 1 and current.filter(kind="other").count() == 1
    conflicts = services.conflicts(company)
    assert len(conflicts) == 1  # the one contradiction the demo bank answers on purpose
    grant = Grant.objects.get(subject=company)
    assert grant.institution.members.get().user.username == "yinhang"
    assert GrantAccess.objects.filter(grant=grant, report__isnull=False).count() == 1
    assert FinancingProfile.objects.filter(opted_in=True).count() == 31  # qiye's and 30 others
    assert "已提交自评" in out.getvalue() and "融资对接名单 31 家企业" in out.getvalue()
    writes = AuditEvent.objects.count()

    call_command("assessments_demo", stdout=StringIO())
    assert Assessment.objects.count() == 2 and Grant.objects.count() == 1
    assert GrantAccess.objects.count() == 1 and FinancingProfile.objects.count() == 31
    assert AuditEvent.objects.count() == writes  # nothing written twice
