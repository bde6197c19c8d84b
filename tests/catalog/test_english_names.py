"""English names of reference data: ``name_en`` / ``label_en`` in the reference-data files are
loaded by load_reference and shown on the /en/ pages (departments, list types, catalog items,
code-table values); the Chinese pages keep the Chinese names."""

from __future__ import annotations

import pytest
from django.test import Client

from creditplus.accounts.models import AuditEvent
from creditplus.catalog.models import EnglishName
from creditplus.catalog.names import load_english_names
from creditplus.subjects.models import Subject
from tests.factories import valid_uscc
from tests.records.test_disclosure import cf

pytestmark = pytest.mark.django_db


def test_every_department_list_type_and_catalog_item_has_an_english_name(reference):
    from creditplus.accounts.models import Department
    from creditplus.catalog.models import CatalogItem
    from creditplus.lists.models import ListType

    english = set(EnglishName.objects.values_list("kind", "code"))
    for kind, model in (("department", Department), ("list_type", ListType), ("item", CatalogItem)):
        missing = {
            c for c in model.objects.values_list("code", flat=True) if (kind, c) not in english
        }
        assert not missing, (kind, missing)
    assert EnglishName.objects.get(kind="code:HYML", code="C").name == "Manufacturing"


def test_loading_twice_changes_nothing_and_writes_no_audit_row(reference):
    before = AuditEvent.objects.count()
    load_english_names()
    assert AuditEvent.objects.count() == before


def test_english_pages_show_english_names_and_chinese_pages_chinese(reference):
    lists_en = Client().get("/en/lists/").content.decode()
    assert "List of Seriously Untrustworthy Entities" in lists_en
    assert ">严重失信主体名单<" not in lists_en  # the names; the criteria texts stay Chinese
    lists_zh = Client().get("/lists/").content.decode()
    assert "严重失信主体名单" in lists_zh and "Seriously Untrustworthy" not in lists_zh


def test_the_english_subject_page_shows_labels_and_department_names_in_english(reference):
    Subject.objects.create(
        kind="legal",
        uscc=valid_uscc(990),
        name="上海英文测试有限公司",
        industry="C",
        registered=True,
    )
    html = Client().get(f"/en/subjects/{valid_uscc(990)}/").content.decode()
    assert "Manufacturing" in html and "制造业" not in html


def test_record_code_values_are_english_on_english_pages(reference):
    cf("沪浦市监处〔2026〕英1号")
    html = Client().get("/en/publicity/penalties/").content.decode()
    meta = html.split('class="muted record-meta">', 1)[1].split("</p>", 1)[0]
    assert "District Market Supervision Administration" in meta and "区市场监管局" not in meta
    options = html.split('name="department"', 1)[1].split("</select>", 1)[0]
    assert "District Taxation Bureau" in options and "区税务局" not in options
    assert "<dd>Fine</dd>" in html  # 处罚类别 罚款, a code-table value
    assert "<dt>Penalty type</dt>" in html and "<dt>处罚类别</dt>" not in html  # field labels
    chinese = Client().get("/publicity/penalties/").content.decode()
    assert "<dt>处罚类别</dt>" in chinese and "<dd>罚款</dd>" in chinese
