"""The data of the public website's browser tests, created through the real services in the
database of a running test server (``tests/server.py``):

    app_server.manage("shell", "-c", "from tests.portal.browser_data import setup; setup()")

Idempotent: the browser tests share one server (whose database may also hold the demo data
of other tests), and each test module may call it again. Re-ingesting the same rows changes
nothing; accounts and the list entry are created only when missing.

- 上海张江高科技园区开发股份有限公司 (registered through 登记注册 DJ): a public fine
  (``ZJ_FINE``), a warning (``ZJ_WARNING``, minor: never shown) and a license in publicity;
  its enterprise account ``ENTERPRISE_USER`` (bound as at a service window).
- A second company with the penalties and a license that the 双公示 filters keep or drop.
- The natural person ``PERSON_NAME`` with a fine (never published) and a published entry on
  the 严重失信主体名单 (shown masked: 王* and 3604**********0071).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.factories import valid_uscc
from tests.records.files import PERSON_ID, penalty

ZHANGJIANG = "上海张江高科技园区开发股份有限公司"
ZJ_USCC = valid_uscc(20260801)
OTHER = "上海浦东浏览器测试贸易有限公司"
OTHER_USCC = valid_uscc(20260802)

# 行政处罚 (document numbers) and their decision dates in days before today.
ZJ_FINE = "沪浦市监处〔2026〕浏览器1号"  # 张江, 区市场监管局, 罚款, 20 days ago
ZJ_WARNING = "沪浦市监处〔2026〕浏览器2号"  # 张江, 警告 (minor), 15 days ago
OTHER_FINE = "沪浦市监处〔2026〕浏览器3号"  # other, 区市场监管局, 罚款, 12 days ago
OTHER_TAX_FINE = "沪浦税处〔2026〕浏览器4号"  # other, 区税务局, 罚款, 14 days ago
OTHER_CONFISCATION = "沪浦市监处〔2026〕浏览器5号"  # other, 区市场监管局, 没收违法所得, 16 days ago
OTHER_OLD_FINE = "沪浦市监处〔2025〕浏览器6号"  # other, 区市场监管局, 罚款, 200 days ago
PERSON_FINE = "沪浦市监处〔2026〕浏览器9号"  # the natural person, 罚款, 5 days ago
DAYS_AGO = {
    ZJ_FINE: 20,
    ZJ_WARNING: 15,
    OTHER_FINE: 12,
    OTHER_TAX_FINE: 14,
    OTHER_CONFISCATION: 16,
    OTHER_OLD_FINE: 200,
    PERSON_FINE: 5,
}

# 行政许可.
ZJ_LICENSE = "沪浦市监许〔2026〕浏览器1号"  # 张江, 普通, 10 days ago
OTHER_SPECIAL_LICENSE = "沪浦市监许〔2026〕浏览器2号"  # other, 特许, 8 days ago
LICENSE_DAYS_AGO = {ZJ_LICENSE: 10, OTHER_SPECIAL_LICENSE: 8}

PERSON_NAME = "王翊"
PERSON_ID_NUMBER = PERSON_ID  # 360426199101010071
PERSON_ID_MASKED = "3604**********0071"
PERSON_DECISION_NO = "沪浦市监信〔2026〕浏览器1号"

ENTERPRISE_USER = "zhangjiang_qiye"
ENTERPRISE_PASSWORD = "Qiye-pass-2026"
OFFICER_USER = "browser_scjg"


def _today() -> date:
    from django.utils import timezone

    return timezone.localdate()


def _ago(days: int) -> str:
    return (_today() - timedelta(days=days)).isoformat()


def _authority(dept_code: str, prefix: str) -> dict[str, str]:
    from creditplus.accounts.models import Department

    dept = Department.objects.get(code=dept_code)
    return {
        f"{prefix}机关": dept.name,
        f"{prefix}机关统一社会信用代码": dept.uscc,
        "数据来源单位": dept.name,
        "数据来源单位统一社会信用代码": dept.uscc,
    }


def _ingest(item: str, dept_code: str, rows: list[dict[str, Any]]) -> None:
    from creditplus.accounts.models import Department
    from creditplus.catalog.models import CatalogItem
    from creditplus.records.ingest import IngestOptions, ingest_rows

    batch = ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code=item),
            department=Department.objects.get(code=dept_code),
        ),
    )
    if batch.rejected:
        messages = list(batch.errors.values_list("message", flat=True))
        raise RuntimeError(f"{item} rows rejected: {messages}")


def _registration(name: str, uscc: str, rep: str, established: str) -> dict[str, str]:
    return {
        "DJ_ZTMC": name,
        "DJ_ZTLB": "法人及非法人组织",
        "DJ_TYSHXYDM": uscc,
        "DJ_ZTLX": "股份有限公司",
        "DJ_FDDBR": rep,
        "DJ_CLRQ": established,
        "DJ_ZCZB": "154868.5",
        "DJ_ZS": "中国（上海）自由贸易试验区龙东大道200号",
        "DJ_HYML": "K",
        "DJ_JYFW": "一般项目：园区管理服务；物业管理；非居住房地产租赁。",
        "DJ_DJZT": "存续",
        "DJ_HZRQ": established,
        "DJ_DJJG": "浦东新区市场监督管理局",
    }


def _penalty(doc: str, name: str, uscc: str, dept: str = "SCJG", **extra: str) -> dict[str, Any]:
    decided = _today() - timedelta(days=DAYS_AGO[doc])
    return penalty(
        1,
        **{
            "行政相对人名称": name,
            "统一社会信用代码": uscc,
            "法定代表人": "李四",
            "行政处罚决定书文号": doc,
            "处罚决定日期": decided.isoformat(),
            "处罚有效期": (decided + timedelta(days=3 * 365)).isoformat(),
            **_authority(dept, "处罚"),
            **extra,
        },
    )


def _license(doc: str, name: str, uscc: str, **extra: str) -> dict[str, str]:
    decided = _today() - timedelta(days=LICENSE_DAYS_AGO[doc])
    return {
        "行政相对人名称": name,
        "行政相对人类别": "法人及非法人组织",
        "统一社会信用代码": uscc,
        "法定代表人": "李四",
        "行政许可决定文书名称": "准予行政许可决定书",
        "行政许可决定文书号": doc,
        "许可类别": "普通",
        "许可证书名称": "食品经营许可证",
        "许可编号": "JY13101150000888",
        "许可内容": "准予核发食品经营许可证",
        "许可决定日期": decided.isoformat(),
        "有效期自": decided.isoformat(),
        "有效期至": (decided + timedelta(days=5 * 365)).isoformat(),
        "当前状态": "有效",
        **_authority("SCJG", "许可"),
        **extra,
    }


def _records() -> None:
    _ingest(
        "DJ",
        "SCJG",
        [
            _registration(ZHANGJIANG, ZJ_USCC, "李四", "1996-04-18"),
            _registration(OTHER, OTHER_USCC, "赵六", "2015-03-02"),
        ],
    )
    _ingest(
        "CF",
        "SCJG",
        [
            _penalty(ZJ_FINE, ZHANGJIANG, ZJ_USCC, 违法行为类型="虚假宣传"),
            _penalty(
                ZJ_WARNING,
                ZHANGJIANG,
                ZJ_USCC,
                处罚类别="警告",
                处罚内容="警告",
                **{"罚款金额(万元)": ""},
            ),
            _penalty(OTHER_FINE, OTHER, OTHER_USCC),
            _penalty(
                OTHER_CONFISCATION,
                OTHER,
                OTHER_USCC,
                处罚类别="没收违法所得",
                处罚内容="没收违法所得人民币贰万元",
                **{"罚款金额(万元)": "", "没收违法所得、没收非法财物的金额(万元)": "2"},
            ),
            _penalty(OTHER_OLD_FINE, OTHER, OTHER_USCC),
            _penalty(
                PERSON_FINE,
                PERSON_NAME,
                "",
                行政相对人类别="自然人",
                法定代表人="",
                证件类型="身份证",
                证件号码=PERSON_ID_NUMBER,
                违法行为类型="无照经营",
                **{"罚款金额(万元)": "0.5"},
            ),
        ],
    )
    _ingest("CF", "SW", [_penalty(OTHER_TAX_FINE, OTHER, OTHER_USCC, dept="SW")])
    _ingest(
        "XK",
        "SCJG",
        [
            _license(ZJ_LICENSE, ZHANGJIANG, ZJ_USCC),
            _license(OTHER_SPECIAL_LICENSE, OTHER, OTHER_USCC, 许可类别="特许"),
        ],
    )


def _officer():
    from django.contrib.auth.models import Group

    from creditplus.accounts.choices import Role
    from creditplus.accounts.models import Department, User

    officer, created = User.objects.get_or_create(
        username=OFFICER_USER,
        defaults={
            "department": Department.objects.get(code="SCJG"),
            "first_name": "浏览器测试联络员",
        },
    )
    if created:
        officer.set_unusable_password()
        officer.save()
        officer.groups.add(Group.objects.get(name=Role.DEPT_OFFICER))
    return User.objects.get(pk=officer.pk)  # fresh permission caches


def _person_list_entry() -> None:
    """The person's entry on the 严重失信主体名单: proposed by an officer with the fine as
    evidence, noticed two months ago (the response period is over), decided, published."""
    from creditplus.lists import services
    from creditplus.lists.models import ListEntry, ListType
    from creditplus.records.models import CreditRecord

    list_type = ListType.objects.get(code="YZSX")
    record = (
        CreditRecord.objects.current()
        .select_related("subject")
        .get(item__code="CF", natural_key__startswith=f"{PERSON_FINE}|")
    )
    if ListEntry.objects.filter(list_type=list_type, subject=record.subject).exists():
        return
    officer = _officer()
    entry = services.propose_entry(
        officer,
        list_type,
        record.subject,
        reason="无照经营，拒不改正",
        basis="《上海市社会信用条例》第三十条",
        evidence=[record],
    )
    services.send_notice(entry, officer, today=_today() - timedelta(days=60))
    entry.refresh_from_db()
    services.decide_entry(entry, officer, include=True, decision_no=PERSON_DECISION_NO)
    entry.refresh_from_db()
    services.publish_entry(entry, officer)


def _enterprise_account() -> None:
    from creditplus.accounts.models import User
    from creditplus.subjects.models import SubjectAccount
    from creditplus.subjects.services import bind_enterprise_user

    user = User.objects.filter(username=ENTERPRISE_USER).first()
    if user is None:
        user = User.objects.create_user(
            username=ENTERPRISE_USER, password=ENTERPRISE_PASSWORD, first_name="张江企业经办人"
        )
    if not SubjectAccount.objects.filter(user=user).exists():
        bind_enterprise_user(
            ENTERPRISE_USER, ZJ_USCC, verified_by="营业执照原件核验", clerk="浏览器测试窗口"
        )


def setup() -> None:
    _records()
    _person_list_entry()
    _enterprise_account()
