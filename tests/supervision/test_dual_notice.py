"""双告知: a new registration whose scope needs permits tells the licensing departments and
the subject; each department's follow-up closes its notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Department, Notification
from creditplus.catalog.models import CatalogItem
from creditplus.errors import DomainError
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.subjects.models import Subject
from creditplus.supervision import dual_notice
from creditplus.supervision.models import PermitNotice
from tests.conftest import client_for
from tests.factories import valid_uscc


def register(n: int, scope: str, permits: str = "", **extra: str) -> Subject:
    """Ingest one registration (DJ) of 区市场监管局 for a new enterprise."""
    today = timezone.localdate()
    uscc = valid_uscc(5000 + n)
    row = {
        "DJ_ZTMC": f"上海双告知测试{n}有限公司",
        "DJ_ZTLB": "法人及非法人组织",
        "DJ_TYSHXYDM": uscc,
        "DJ_ZTLX": "有限责任公司",
        "DJ_FDDBR": "赵六",
        "DJ_CLRQ": (today - timedelta(days=3)).isoformat(),
        "DJ_ZCZB": "100",
        "DJ_ZS": "上海市浦东新区张江路1号",
        "DJ_HYML": "H",
        "DJ_JYFW": scope,
        "DJ_XKXM": permits,
        "DJ_DJZT": "存续",
        "DJ_HZRQ": (today - timedelta(days=3)).isoformat(),
        "DJ_DJJG": "浦东新区市场监督管理局",
        **extra,
    }
    batch = ingest_rows(
        [row],
        IngestOptions(
            item=CatalogItem.objects.get(code="DJ"), department=Department.objects.get(code="SCJG")
        ),
    )
    assert batch.accepted == 1, list(batch.errors.values_list("message", flat=True))
    return Subject.objects.get(uscc=uscc)


def test_a_new_registration_notifies_the_licensing_departments_once(reference):
    subject = register(
        1,
        "一般项目：日用百货销售。许可项目：食品经营；道路货物运输（不含危险货物）。",
        "食品经营；道路货物运输（不含危险货物）",
    )
    register(2, "一般项目：软件开发；技术服务。")
    assert dual_notice.notify_new_registrations() == 2
    notices = {n.department.code: n for n in dual_notice.notices_of_subject(subject)}
    assert set(notices) == {"SCJG", "JSJT"}
    assert notices["SCJG"].permit == "食品经营许可证"
    assert notices["JSJT"].matched == "道路货物运输"
    assert "合欢路2号" in notices["SCJG"].rule.window
    assert Notification.objects.filter(department__code="JSJT", title__contains="双告知").exists()
    assert AuditEvent.objects.filter(action="dual_notice.send").exists()
    assert dual_notice.notify_new_registrations() == 0  # the cursor moved on


def test_only_the_notified_department_follows_up_and_closes(reference, officer, other_officer):
    register(3, "许可项目：食品经营。", "食品经营")
    dual_notice.notify_new_registrations()
    notice = PermitNotice.objects.get()
    with pytest.raises(DomainError):
        dual_notice.follow_up(other_officer, notice, "已核实")
    with pytest.raises(DomainError) as empty:
        dual_notice.follow_up(officer, notice, " ")
    assert empty.value.code == "note_required"
    dual_notice.follow_up(officer, notice, "已办理食品经营许可证")
    notice.refresh_from_db()
    assert not notice.is_open and notice.closed_by == officer.username


def test_the_notice_api_lists_the_departments_open_notices(reference, officer, other_officer):
    register(4, "许可项目：食品经营。", "食品经营")
    dual_notice.notify_new_registrations()
    mine = client_for(officer).get("/api/v1/permit-notices").json()
    assert [n["permit"] for n in mine] == ["食品经营许可证"]
    assert client_for(other_officer).get("/api/v1/permit-notices").json() == []
    done = client_for(officer).post(
        f"/api/v1/permit-notices/{mine[0]['id']}/follow-up",
        {"note": "已跟进"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["closed_at"]
    assert client_for(officer).get("/api/v1/permit-notices").json() == []
