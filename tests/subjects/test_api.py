"""Public subject search and view: organisations only, paginated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.records.ingest import IngestOptions, ingest_rows
from tests.records.files import PERSON_ID, penalty

pytestmark = pytest.mark.django_db


@pytest.fixture
def subjects(reference):
    recent = {  # inside the publicity period, so the public view counts them
        "处罚决定日期": (date.today() - timedelta(days=30)).isoformat(),
        "处罚有效期": (date.today() + timedelta(days=335)).isoformat(),
    }
    rows = [penalty(i, **recent) for i in range(1, 4)]
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


def test_subject_public_view_counts_no_record_past_its_publicity(subjects):
    ingest_rows(
        [penalty(1, 行政处罚决定书文号="沪浦市监处〔2024〕1号", 处罚决定日期="2024-01-10")],
        IngestOptions(
            item=CatalogItem.objects.get(code="CF"), department=Department.objects.get(code="SCJG")
        ),
    )
    body = Client().get(f"/api/v1/subjects/{penalty(1)['统一社会信用代码']}").json()
    assert body["public_records"] == [{"item": "CF", "name": "行政处罚", "count": 1}]


def test_a_too_short_query_is_refused_with_the_error_shape(subjects):
    response = Client().get("/api/v1/subjects", {"q": "上"})
    assert response.status_code == 422 and response.json()["field"] == "q"


def test_search_is_rate_limited_per_client(subjects, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CREDITPLUS_RATE_LIMITS = {"search": 3, "subject": 3}
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert client.get("/api/v1/subjects", {"q": "测试"}).status_code == 200
    refused = client.get("/api/v1/subjects", {"q": "测试"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert "访问过于频繁" in refused.json()["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another client still gets answers; the limit is per client.
    other = Client(REMOTE_ADDR="203.0.113.8")
    assert other.get("/api/v1/subjects", {"q": "测试"}).status_code == 200
    cache.clear()


def test_rate_limit_follows_forwarded_for_only_from_trusted_proxies(subjects, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CREDITPLUS_RATE_LIMITS = {"search": 1, "subject": 1}
    settings.CREDITPLUS_TRUSTED_PROXIES = ["10.0.0.1"]
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    assert (
        proxy.get(
            "/api/v1/subjects", {"q": "测试"}, HTTP_X_FORWARDED_FOR="198.51.100.1"
        ).status_code
        == 200
    )
    assert (
        proxy.get(
            "/api/v1/subjects", {"q": "测试"}, HTTP_X_FORWARDED_FOR="198.51.100.2"
        ).status_code
        == 200
    )
    assert (
        proxy.get(
            "/api/v1/subjects", {"q": "测试"}, HTTP_X_FORWARDED_FOR="198.51.100.1"
        ).status_code
        == 429
    )
    # An untrusted sender cannot escape its limit by forging the header.
    direct = Client(REMOTE_ADDR="198.51.100.9")
    assert (
        direct.get("/api/v1/subjects", {"q": "测试"}, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code
        == 200
    )
    assert (
        direct.get("/api/v1/subjects", {"q": "测试"}, HTTP_X_FORWARDED_FOR="1.1.1.2").status_code
        == 429
    )
    cache.clear()
