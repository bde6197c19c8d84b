"""The enterprise's own sign-in for 我的信用: its page says who it is for and how an account is
opened; once signed in the header names the user and offers 退出; the password can be changed
and reset (by e-mail, for accounts with one on file). Each password write is audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from creditplus.accounts.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "Qiye-pass-2026"


@pytest.fixture
def qiye(enterprise):
    enterprise.set_password(PASSWORD)
    enterprise.email = "qiye@example.com"
    enterprise.save()
    return enterprise


def test_the_enterprise_sign_in_page_is_for_enterprises(reference):
    html = Client().get("/my/login/?next=/my/").content.decode()
    assert "企业登录" in html and "营业执照" in html and "信用服务窗口" in html
    assert "工作台登录" in html and 'href="/backoffice/login/"' in html  # staff go elsewhere
    assert 'href="/my/password/reset/"' in html
    assert "部门登录" not in html


def test_signing_in_leads_to_my_credit_and_the_header_names_the_user(qiye):
    client = Client()
    response = client.post("/my/login/", {"username": "qiye", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/my/"
    html = client.get("/my/").content.decode()
    header = html[html.index('<header class="site-header">') : html.index("</header>")]
    assert "企业经办人" in header and "退出" in header and 'action="/my/logout/"' in header
    assert "部门登录" not in header and 'href="/my/password/"' in html
    out = client.post("/my/logout/")
    assert out.status_code == 302 and out["Location"] == "/"
    assert client.get("/my/")["Location"].startswith("/my/login/")


def test_a_wrong_password_is_refused_in_chinese(qiye):
    html = Client().post("/my/login/", {"username": "qiye", "password": "x"}).content.decode()
    assert 'role="alert"' in html and "用户名" in html and "密码" in html


def test_the_password_is_changed_and_the_change_audited(qiye):
    client = client_for(qiye)
    assert client.get("/my/password/").status_code == 200
    response = client.post(
        "/my/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Xinmima-2026-ok",
            "new_password2": "Xinmima-2026-ok",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/my/"
    qiye.refresh_from_db()
    assert qiye.check_password("Xinmima-2026-ok")
    assert (
        AuditEvent.objects.filter(action="user.password_change", object_id=str(qiye.pk)).count()
        == 1
    )


def test_the_password_change_asks_anonymous_users_to_sign_in_as_an_enterprise(reference):
    assert Client().get("/my/password/")["Location"].startswith("/my/login/?next=/my/password/")


def test_a_forgotten_password_is_reset_through_the_e_mailed_link(qiye):
    client = Client()
    response = client.post("/my/password/reset/", {"email": "qiye@example.com"})
    assert response.status_code == 302 and response["Location"] == "/my/password/reset/sent/"
    assert len(mail.outbox) == 1 and "qiye" in mail.outbox[0].body
    link = re.search(r"http://testserver(/my/password/reset/\S+/\S+/)", mail.outbox[0].body)
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200 and "设置新密码" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Chongzhi-2026-ok", "new_password2": "Chongzhi-2026-ok"},
    )
    assert done.status_code == 302 and done["Location"] == "/my/password/reset/done/"
    qiye.refresh_from_db()
    assert qiye.check_password("Chongzhi-2026-ok")
    assert (
        AuditEvent.objects.filter(action="user.password_reset", object_id=str(qiye.pk)).count() == 1
    )


def test_an_unknown_e_mail_sends_nothing_and_says_the_same(qiye):
    response = Client().post("/my/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert not mail.outbox and "如果该邮箱是已登记的企业账号邮箱" in response.content.decode()


def test_the_back_office_sign_in_sends_enterprises_to_their_own(reference):
    html = Client().get("/backoffice/login/").content.decode()
    assert 'href="/my/login/"' in html and "企业登录" in html
