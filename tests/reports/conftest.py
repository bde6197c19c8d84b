"""Fixtures of the query windows: window clerks with a department, a company with a record
of every kind its report shows (and some it must not), and a natural person with a penalty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from creditplus.accounts.choices import Role
from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.evaluation import services as evaluation
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.subjects.models import Subject
from creditplus.supervision import services as supervision
from creditplus.supervision.models import CommitmentTemplate
from tests.factories import make_user
from tests.lists.fixtures import ingest_penalty
from tests.portal.test_lists_pages import publish
from tests.records.files import PERSON_ID, penalty

PERSON_NAME = "王小明"
RSJ_USCC = "11310115002426494Y"
WARNING_NO = "沪浦市监处〔2025〕警1号"
SBQF_NO = "沪浦人社缴〔2026〕7号"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded authorization files go to a throwaway directory."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clerk(reference):
    """A window clerk of the 区发展改革委 (credit office's) query window."""
    return make_user(Role.WINDOW_CLERK, "FGW", username="fgw_window", first_name="窗口经办")


@pytest.fixture
def other_clerk(reference):
    """A window clerk of another department's window (区市场监管局)."""
    return make_user(Role.WINDOW_CLERK, "SCJG", username="scjg_window")


def ingest(item: str, department: str, rows: list[dict]) -> None:
    ingest_rows(
        rows,
        IngestOptions(
            item=CatalogItem.objects.get(code=item),
            department=Department.objects.get(code=department),
        ),
    )
    consumers.run("lists")


@pytest.fixture
def company(proposal, officer, enterprise) -> Subject:
    """上海测试1号科技有限公司: a licence revocation (public), a warning (minor: never shown),
    a social-insurance arrear (government-only: never shown), its blacklist entry published,
    a published commitment, and a grade under the active model."""
    subject = proposal.subject
    publish(proposal, officer)
    ingest_penalty(
        1,
        行政处罚决定书文号=WARNING_NO,
        处罚类别="警告",
        处罚内容="警告",
        **{"罚款金额(万元)": ""},
    )
    today = timezone.localdate()
    ingest(
        "SBQF",
        "RSJ",
        [
            {
                "SBQF_DWMC": subject.name,
                "SBQF_ZTLB": "法人及非法人组织",
                "SBQF_TYSHXYDM": subject.uscc,
                "SBQF_QJXZ": "养老",
                "SBQF_SSQQ": (today - timedelta(days=200)).isoformat(),
                "SBQF_SSQZ": (today - timedelta(days=100)).isoformat(),
                "SBQF_QJJE": "3.5",
                "SBQF_ZLWSH": SBQF_NO,
                "SBQF_RDRQ": (today - timedelta(days=20)).isoformat(),
                "SBQF_JNZT": "未缴纳",
                "SBQF_RDDW": "区人力资源社会保障局",
                "SBQF_RDDWDM": RSJ_USCC,
            }
        ],
    )
    supervision.sign_commitment(
        enterprise,
        CommitmentTemplate.objects.get(code="GZCN-JYXK"),
        subject,
        reason="食品经营许可（告知承诺制）",
        signer="李四",
    )
    evaluation.evaluate(mode="all")
    subject.refresh_from_db()
    return subject


@pytest.fixture
def person_penalty():
    """A fine of 王小明 (a natural person: never published, but in his own report)."""
    row = penalty(
        9,
        行政相对人名称=PERSON_NAME,
        行政相对人类别="自然人",
        统一社会信用代码="",
        法定代表人="",
        证件类型="身份证",
        证件号码=PERSON_ID,
        行政处罚决定书文号="沪浦市监处〔2026〕人9号",
        违法行为类型="无照经营",
        处罚决定日期=(timezone.localdate() - timedelta(days=40)).isoformat(),
        处罚有效期=(timezone.localdate() + timedelta(days=300)).isoformat(),
        **{"罚款金额(万元)": "0.5"},
    )
    ingest("CF", "SCJG", [row])


def authorization_file(name: str = "授权书.pdf", content: bytes = b"%PDF-1.4\n% signed\n"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")
