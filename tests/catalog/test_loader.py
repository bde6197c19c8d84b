"""Loading the three lists: schema checks, admin edits kept until the file version rises."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from creditplus.catalog import calendar
from creditplus.catalog.models import BehaviorRule, CatalogItem, Matter
from creditplus.catalog.schema import ItemSpec
from creditplus.errors import DomainError

pytestmark = pytest.mark.django_db


def test_the_catalog_has_the_two_double_publicity_items_and_at_least_12_more(reference):
    codes = set(CatalogItem.objects.values_list("code", flat=True))
    assert {"XK", "CF"} <= codes and len(codes) >= 14
    cf = CatalogItem.objects.get(code="CF").spec
    assert {"CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_SJLYDM"} <= {
        f.code for f in cf.fields
    }
    assert cf.field("CF_XDR_MC").label == "行政相对人名称"


def test_admin_edits_survive_reloading_until_the_file_version_rises(reference):
    item = CatalogItem.objects.get(code="CF")
    item.description = "管理员修改的说明"
    item.save()
    call_command("load_reference", stdout=StringIO())
    assert CatalogItem.objects.get(code="CF").description == "管理员修改的说明"
    CatalogItem.objects.filter(code="CF").update(source_version=0)  # as if the file were newer
    call_command("load_reference", stdout=StringIO())
    assert CatalogItem.objects.get(code="CF").description != "管理员修改的说明"


def test_behavior_rules_and_matters_are_loaded(reference):
    assert BehaviorRule.objects.filter(item__code="CF", severity="serious").exists()
    minor = BehaviorRule.objects.filter(severity="minor")
    assert minor.exists() and not minor.filter(published=True).exists()
    assert Matter.objects.count() >= 15


def test_a_definition_referring_to_a_missing_field_is_refused():
    with pytest.raises(DomainError) as excinfo:
        ItemSpec.parse(
            "X",
            "x",
            {
                "subject_kinds": ["legal"],
                "subject": {"name": "A", "fixed_kind": "legal"},
                "natural_key": ["NOPE"],
                "fields": [{"code": "A", "label": "名称", "type": "text"}],
            },
        )
    assert excinfo.value.code == "catalog_invalid" and "NOPE" in excinfo.value.message


def test_catalog_api_lists_items_and_fields(reference):
    items = Client().get("/api/v1/catalog/items").json()
    assert {"code", "name", "departments", "disclosure"} <= set(items[0])
    cf = Client().get("/api/v1/catalog/items/CF").json()
    cflb = next(f for f in cf["fields"] if f["code"] == "CF_CFLB")
    assert (
        cflb["label"] == "处罚类别"
        and cflb["required"]
        and {"code": "罚款", "label": "罚款"} in cflb["codes"]
    )
    assert Client().get("/api/v1/catalog/items/NOPE").status_code == 404
    assert len(Client().get("/api/v1/matters").json()) >= 15


def test_working_days_skip_weekends_and_holidays_and_count_makeup_days(reference):
    from datetime import date

    calendar.clear_cache()
    # 2026-09-25 is a Friday; the National Day holiday starts 2026-10-01.
    assert calendar.add_working_days(date(2026, 9, 25), 1) == date(2026, 9, 28)
    assert not calendar.is_workday(date(2026, 10, 1))
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == sum(
        calendar.is_workday(date(2026, 10, d)) for d in range(1, 9)
    )
    # Month end: 2026-01-30 is a Friday → next working day is Monday 2026-02-02.
    assert calendar.add_working_days(date(2026, 1, 30), 1) == date(2026, 2, 2)
