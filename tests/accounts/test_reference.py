"""`creditplus load_reference`: 26 valid departments, role groups, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from stdnum.cn import uscc

from creditplus.accounts.choices import Role
from creditplus.accounts.models import AuditEvent, Department

pytestmark = pytest.mark.django_db


def snapshot():
    departments = list(Department.objects.order_by("code").values())
    groups = {
        g.name: sorted(g.permissions.values_list("codename", flat=True))
        for g in Group.objects.all()
    }
    return departments, groups


def test_loads_26_departments_with_valid_codes(reference):
    departments = Department.objects.all()
    assert departments.count() == 26
    for dept in departments:
        assert uscc.is_valid(dept.uscc), dept
    names = set(departments.values_list("name", flat=True))
    assert {"区市场监管局", "区税务局", "区人民法院", "消防救援支队", "海关/检验检疫"} <= names


def test_loading_twice_changes_nothing(reference):
    before = snapshot()
    audit_rows = AuditEvent.objects.count()
    call_command("load_reference", stdout=StringIO())
    assert snapshot() == before
    assert AuditEvent.objects.count() == audit_rows


def test_every_role_is_a_group(reference):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_a_changed_department_is_updated_and_audited(reference):
    Department.objects.filter(code="SCJG").update(name="旧名称")
    call_command("load_reference", stdout=StringIO())
    assert Department.objects.get(code="SCJG").name == "区市场监管局"
    event = AuditEvent.objects.filter(action="department.update").latest("id")
    assert event.before["name"] == "旧名称" and event.after["name"] == "区市场监管局"


def test_departments_api_is_public(reference):
    from django.test import Client

    body = Client().get("/api/v1/departments").json()
    assert len(body) == 26
    assert {"code", "name", "full_name", "uscc", "kind"} <= set(body[0])
