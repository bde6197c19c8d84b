"""The public home page speaks Chinese by default and English under /en/."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_home_is_chinese_by_default(reference):
    page = Client().get("/").content.decode()
    assert '<html lang="zh-CN">' in page
    assert "信用浦东" in page and "区市场监管局" in page


def test_home_is_english_under_en(reference):
    page = Client().get("/en/").content.decode()
    assert '<html lang="en">' in page
    assert "Credit Pudong" in page and "Home" in page


def test_language_links_point_at_the_same_page_in_each_language(reference):
    chinese = Client().get("/backoffice/login/").content.decode()
    assert 'href="/en/backoffice/login/"' in chinese
    english = Client().get("/en/backoffice/login/").content.decode()
    assert 'href="/backoffice/login/"' in english


def test_back_office_login_page_is_translated(reference):
    assert "信用+ 工作台登录" in Client().get("/backoffice/login/").content.decode()
    assert "Sign in" in Client().get("/en/backoffice/login/").content.decode()


PUBLIC_URLS = [
    "/",
    "/en/",
    "/backoffice/login/",
    "/en/backoffice/login/",
    "/commitments/",
    "/inspections/",
    "/search",
    "/search?q=%E6%B5%A6%E4%B8%9C",
    "/en/search?q=x",
    "/publicity/licenses/",
    "/publicity/penalties/",
    "/en/publicity/penalties/?decided_from=bad",
]


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_every_public_page_answers_with_exactly_one_h1(reference, url):
    response = Client().get(url)
    assert response.status_code == 200
    assert len(re.findall(r"<h1[\s>]", response.content.decode())) == 1


def test_healthz_checks_the_database(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_is_published():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/departments" in response.json()["paths"]
