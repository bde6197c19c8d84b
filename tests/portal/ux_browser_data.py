"""Data of the enterprise-area and public-site UX browser tests (tests/portal/test_ux_browser.py),
created through the real services in a running test server's database:

    app_server.manage("shell", "-c", "from tests.portal.ux_browser_data import setup; setup()")

Idempotent. Two companies registered as manufacturers (行业 C), each with a licence revocation
(serious: the list consumer proposes it for the 严重失信主体名单) and a dozen licences:

- ``NOTICED`` — its entry has been noticed today (the enterprise must answer by the response
  deadline); its enterprise account ``USER`` signs in to 我的信用.
- ``LISTED`` — its entry is decided and published (a blacklisted subject on the public site).
"""

from __future__ import annotations

from datetime import timedelta

from tests.factories import valid_uscc
from tests.portal.browser_data import OFFICER_USER, _authority, _ingest, _officer, _registration
from tests.records.files import penalty

NOTICED = "上海浦东体验告知科技有限公司"
NOTICED_USCC = valid_uscc(20260811)
LISTED = "上海浦东体验名单贸易有限公司"
LISTED_USCC = valid_uscc(20260812)
REVOCATION = {NOTICED: "沪浦市监处〔2026〕体验1号", LISTED: "沪浦市监处〔2026〕体验2号"}
LICENCES = 12
USER = "tiyan_qiye"
USER_NAME = "体验企业经办人"
PASSWORD = "Tiyan-pass-2026"
DECISION_NO = "沪浦市监信〔2026〕体验1号"

__all__ = ["OFFICER_USER", "setup"]


def _today():
    from django.utils import timezone

    return timezone.localdate()


def _records(name: str, uscc: str) -> None:
    registration = _registration(name, uscc, "李四", "2012-05-08")
    registration["DJ_HYML"] = "C"  # 制造业: the pages must show the label, never the letter
    _ingest("DJ", "SCJG", [registration])
    decided = _today() - timedelta(days=40)
    _ingest(
        "CF",
        "SCJG",
        [
            penalty(
                1,
                **{
                    "行政相对人名称": name,
                    "统一社会信用代码": uscc,
                    "法定代表人": "李四",
                    "行政处罚决定书文号": REVOCATION[name],
                    "处罚类别": "吊销许可证件",
                    "处罚内容": "吊销食品经营许可证",
                    "罚款金额(万元)": "",
                    "暂扣或吊销证照名称及编号": "食品经营许可证 JY13101150000001",
                    "处罚决定日期": decided.isoformat(),
                    "处罚有效期": (decided + timedelta(days=3 * 365)).isoformat(),
                    **_authority("SCJG", "处罚"),
                },
            )
        ],
    )
    _ingest("XK", "SCJG", [_licence(name, uscc, n) for n in range(LICENCES)])


def _licence(name: str, uscc: str, n: int) -> dict[str, str]:
    decided = _today() - timedelta(days=20 + n)
    return {
        "行政相对人名称": name,
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": uscc,
        "法定代表人": "李四",
        "行政许可决定文书名称": "准予行政许可决定书",
        "行政许可决定文书号": f"沪浦市监许〔2026〕体验{uscc[-4:]}-{n}号",
        "许可类别": "普通",
        "许可证书名称": "食品经营许可证",
        "许可编号": f"JY1310115{n:07d}",
        "许可内容": "准予核发食品经营许可证",
        "许可决定日期": decided.isoformat(),
        "有效期自": decided.isoformat(),
        "有效期至": (decided + timedelta(days=5 * 365)).isoformat(),
        "当前状态": "1",
        **_authority("SCJG", "许可"),
    }


def _entry(uscc: str):
    from creditplus.lists.models import ListEntry

    return ListEntry.objects.filter(list_type__code="YZSX", subject__uscc=uscc).first()


def _lists() -> None:
    from creditplus.lists import services

    officer = _officer()
    noticed = _entry(NOTICED_USCC)
    if noticed is not None and noticed.status == "proposed":
        services.send_notice(noticed, officer)
    listed = _entry(LISTED_USCC)
    if listed is not None and listed.status == "proposed":
        services.send_notice(listed, officer, today=_today() - timedelta(days=60))
        listed.refresh_from_db()
        services.decide_entry(listed, officer, include=True, decision_no=DECISION_NO)
        listed.refresh_from_db()
        services.publish_entry(listed, officer)


def _account() -> None:
    from creditplus.accounts.models import User
    from creditplus.subjects.models import SubjectAccount
    from creditplus.subjects.services import bind_enterprise_user

    if not User.objects.filter(username=USER).exists():
        User.objects.create_user(username=USER, password=PASSWORD, first_name=USER_NAME)
    if not SubjectAccount.objects.filter(user__username=USER).exists():
        bind_enterprise_user(USER, NOTICED_USCC, verified_by="营业执照原件核验", clerk="体验窗口")


def setup() -> None:
    from creditplus.records import consumers

    _records(NOTICED, NOTICED_USCC)
    _records(LISTED, LISTED_USCC)
    consumers.run("lists")  # the serious penalties' automatic proposals
    _lists()
    _account()
    noticed, listed = _entry(NOTICED_USCC), _entry(LISTED_USCC)
    assert noticed is not None and noticed.status == "noticed", noticed
    assert listed is not None and listed.status == "published", listed
