"""`creditplus lists_demo`: the demo walk-through used by `make demo`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from creditplus.lists.models import ListEntry
from creditplus.subjects.models import SubjectAccount
from tests.lists.fixtures import ingest_penalty

pytestmark = pytest.mark.django_db


def test_binds_the_enterprise_account_and_publishes_one_entry(serious_penalty):
    ingest_penalty(
        2,
        处罚类别="吊销许可证件",
        暂扣或吊销证照名称及编号="食品经营许可证 JY13101150000002",
    )
    call_command("demo_accounts", stdout=StringIO())
    out = StringIO()
    call_command("lists_demo", stdout=out)
    call_command("lists_demo", stdout=out)  # a second run changes nothing
    account = SubjectAccount.objects.get(user__username="qiye")
    entries = ListEntry.objects.filter(list_type__code="YZSX")
    assert entries.get(subject=account.subject).status == "noticed"
    assert entries.filter(status="published").count() == 1
    assert "qiye" in out.getvalue()
