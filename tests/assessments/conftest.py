"""Fixtures of 信用张江: two enterprises with bound accounts, scored by the evaluation
model; a bank (and another bank) with a loan officer each; a park management office with an
assessor; answers for the questionnaire."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creditplus.accounts.choices import Role
from creditplus.assessments.models import Institution, InstitutionMember
from creditplus.evaluation import services as evaluation
from creditplus.subjects.models import Subject, SubjectAccount
from tests.factories import make_organisations, make_user, valid_uscc

COMPANY = "上海张江量子芯片科技有限公司"
OTHER_COMPANY = "上海浦东测试7001有限公司"

# A complete self-assessment of the questionnaire ZJ-2026.
SELF_ANSWERS = {
    "G1": "yes",
    "G2": "no",
    "G3": "健全并有效执行",
    "F1": "1000",
    "F2": "yes",
    "F3": "yes",
    "R1": "12",
    "R2": "20",
    "R3": "yes",
    "C1": "no",
    "C2": "yes",
    "C3": "全部按约履行",
    "S1": "yes",
    "S2": "良好",
    "S3": "吸纳应届毕业生就业 30 人",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files go to a throwaway directory."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def company(reference) -> Subject:
    subject, other = make_organisations(2, start=7000, industry="软件和信息技术服务业")
    subject.name = COMPANY
    subject.save(update_fields=["name"])
    other.industry = "集成电路制造"
    other.save(update_fields=["industry"])
    evaluation.evaluate(mode="all")
    return subject


@pytest.fixture
def other_company(company) -> Subject:
    return Subject.objects.get(name=OTHER_COMPANY)


def bind(subject: Subject, username: str):
    user = make_user(Role.ENTERPRISE, username=username, first_name="企业经办人")
    SubjectAccount.objects.create(
        user=user, subject=subject, verified_by="营业执照核验", bound_by="window"
    )
    return user


@pytest.fixture
def enterprise(company):
    return bind(company, "zj_company")


@pytest.fixture
def other_enterprise(other_company):
    return bind(other_company, "zj_other")


def institution(name: str, n: int, kind: str) -> Institution:
    return Institution.objects.create(name=name, uscc=valid_uscc(n, "91310000"), kind=kind)


def member(inst: Institution, role: str, username: str):
    user = make_user(role, username=username, first_name=f"{inst.name}经办人")
    InstitutionMember.objects.create(user=user, institution=inst)
    return user


@pytest.fixture
def bank(reference) -> Institution:
    return institution("上海张江科技银行", 9001, "bank")


@pytest.fixture
def other_bank(reference) -> Institution:
    return institution("浦东农商银行", 9002, "bank")


@pytest.fixture
def park(reference) -> Institution:
    return institution("张江科学城园区管理办公室", 9003, "park")


@pytest.fixture
def banker(bank):
    return member(bank, Role.FINANCIAL, "zj_banker")


@pytest.fixture
def other_banker(other_bank):
    return member(other_bank, Role.FINANCIAL, "nsh_banker")


@pytest.fixture
def assessor(park):
    return member(park, Role.ASSESSOR, "zj_park")


def pdf_file(name: str = "审计报告.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n% evidence\n", content_type="application/pdf")
