"""`creditplus demo_accounts`: the account list `make demo` prints."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from creditplus.accounts.choices import Role
from creditplus.accounts.models import User
from creditplus.accounts.services import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db


def test_every_demo_account_is_printed_with_its_role_and_what_to_try(reference):
    out = StringIO()
    call_command("demo_accounts", "--password", "Demo-pass-2026", stdout=out)
    lines = out.getvalue().splitlines()
    for username, role, _dept, _display, try_ in DEMO_ACCOUNTS:
        line = next(line for line in lines if line.split()[:1] == [username])
        assert str(Role(role).label) in line and try_ in line
    assert len({role for _u, role, *_rest in DEMO_ACCOUNTS}) == len(Role)  # one per role


def test_the_enterprise_account_qiye_is_created_with_the_enterprise_role(reference):
    call_command("demo_accounts", "--password", "Demo-pass-2026", stdout=StringIO())
    qiye = User.objects.get(username="qiye")
    assert qiye.has_role(Role.ENTERPRISE) and qiye.check_password("Demo-pass-2026")
