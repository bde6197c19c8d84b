"""List types and deadlines are reference data, loaded idempotently and editable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from creditplus.lists.models import Deadline, ListType

pytestmark = pytest.mark.django_db


def test_the_required_list_types_are_loaded_with_who_decides_and_periods(reference):
    types = {t.code: t for t in ListType.objects.select_related("deciding_department")}
    assert {"YZSX", "ZDGZ", "SXJL", "SXBZX", "SSWF", "JYYC", "YZWF"} <= set(types)
    assert {types[c].kind for c in ("YZSX", "ZDGZ", "SXJL")} == {"black", "watch", "red"}
    assert types["SXBZX"].deciding_department.code == "FY"
    assert types["SXBZX"].source_item.code == "SXBZX"
    assert types["YZSX"].deciding_department is None  # the supplying department decides
    assert not types["ZDGZ"].published
    for t in types.values():
        assert t.criteria and t.basis and t.default_months > 0
        assert t.min_months <= t.default_months
        assert (t.origin == "external") == (t.source_item_id is not None)


def test_deadlines_are_loaded_and_reloading_changes_nothing(reference):
    assert Deadline.days("restoration_accept") == 3
    assert Deadline.days("restoration_decide") == 7
    assert Deadline.days("restoration_complex_extra") == 10
    out = StringIO()
    call_command("load_reference", stdout=out)
    assert "办理期限：7 项（新增 0，更新 0，保持 7）" in out.getvalue()
    assert "名单类型：10 项（新增 0，更新 0，保持 10）" in out.getvalue()
