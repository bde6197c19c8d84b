"""The site's own Chinese 403 and 404 pages, in the back office's and the portal's layouts."""

from __future__ import annotations

import pytest
from django.test import Client

from creditplus.error_pages import in_backoffice
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_page_outside_the_role_is_a_chinese_403_in_the_back_office_layout(window_clerk):
    response = client_for(window_clerk).get("/backoffice/audit/")
    text = response.content.decode()
    assert response.status_code == 403
    assert "无权访问此页面" in text and "返回工作台首页" in text
    assert 'class="bo-nav"' in text  # the back office's menu, with 退出
    assert "403 Forbidden" not in text and "<h1>Forbidden" not in text


def test_an_unknown_back_office_page_is_a_chinese_404_with_the_menu(officer):
    response = client_for(officer).get("/backoffice/no-such-page/")
    text = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in text and 'class="bo-nav"' in text


def test_an_unknown_public_page_is_a_chinese_404_with_the_search(reference):
    response = Client().get("/no-such-page/")
    text = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in text and 'class="site-header"' in text and 'name="q"' in text
    assert "Not Found" not in text


def test_a_subject_outside_the_public_site_is_the_same_404(reference):
    response = Client().get("/subjects/91110000600037341N/")
    assert response.status_code == 404 and "页面不存在" in response.content.decode()


def test_english_pages_get_the_layout_of_their_area():
    assert in_backoffice("/backoffice/lists/") and in_backoffice("/en/backoffice/lists/")
    assert not in_backoffice("/en/") and not in_backoffice("/subjects/x/")
    assert not in_backoffice("/my/backoffice/")
