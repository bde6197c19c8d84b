"""Public subject search and view: organisations only, paginated."""

from __future__ import annotations

import pytest
from django.test import Client

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records.ingest import IngestOptions, ingest_rows
from tests.records.files import PERSON_ID, penalty

pytestmark = pytest.mark.django_db


@pytest.fixture
def subjects(reference):
    rows = [penalty(i) for i in range(1, 4)]
    rows.append(
        penalty(
            9,
            **{
                "行政相对人名称": "王五",
                "行政相对人类别": "自然人",
                "统一社会信用代码": "",
                "证件类型": "身份证",
                "证件号码": PERSON_ID,
            },
        )
    )
    ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )


def test_search_by_name_substring_is_paginated(subjects):
    body = Client().get("/api/v1/subjects", {"q": "测试", "page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["page"] == 1


def test_search_by_code_is_exact(subjects):
    body = Client().get("/api/v1/subjects", {"q": penalty(1)["统一社会信用代码"]}).json()
    assert [r["name"] for r in body["results"]] == ["上海测试1号科技有限公司"]


def test_natural_persons_are_never_found_publicly(subjects):
    assert Client().get("/api/v1/subjects", {"q": "王五"}).json()["count"] == 0
    assert Client().get(f"/api/v1/subjects/{PERSON_ID}").status_code == 404


def test_subject_public_view_counts_its_records(subjects):
    body = Client().get(f"/api/v1/subjects/{penalty(1)['统一社会信用代码']}").json()
    assert body["name"] == "上海测试1号科技有限公司"
    assert body["public_records"] == [{"item": "CF", "name": "行政处罚", "count": 1}]


def test_a_too_short_query_is_refused_with_the_error_shape(subjects):
    response = Client().get("/api/v1/subjects", {"q": "上"})
    assert response.status_code == 422 and response.json()["field"] == "q"
