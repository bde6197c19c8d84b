"""Demo walk-through of 信用张江 (development only, used by ``make demo``): a demo bank with
the demo loan officer ``yinhang``, the enterprise demo account's self-assessment, the bank's
other-assessment of it (one answer contradicting, so a conflict is flagged), a grant of the
enterprise's credit report to the bank and the bank's first reading of it, and a few
enterprises in the financing matchmaking list."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.audit import audit_context, context_for_user
from creditplus.accounts.models import User
from creditplus.assessments import services
from creditplus.assessments.choices import AnswerType, AssessmentKind, InstitutionKind
from creditplus.assessments.models import (
    Assessment,
    FinancingProfile,
    Grant,
    Institution,
    InstitutionMember,
)
from creditplus.catalog.choices import SubjectKind
from creditplus.errors import DomainError
from creditplus.subjects.models import Subject

SEED = 20261127
DEMO_BANK = ("张江科技银行（演示）", "91310000778800017N")
MATCHMAKING_SUBJECTS = 30
NEEDS = ["流动资金贷款 300 万元", "研发设备融资租赁", "知识产权质押融资 500 万元", "订单融资"]


def _answers(questions: list[dict[str, Any]], rng: random.Random) -> dict[str, str]:
    """A plausible, mostly favourable answer to every question."""
    answers = {}
    for q in questions:
        kind = q["type"]
        if kind == AnswerType.YESNO:
            # Questions about bad facts (records, arrears) read best answered "no".
            bad = any(word in q["text"] for word in ("失信", "违法", "欠缴", "拖欠", "纠纷"))
            answers[q["code"]] = "no" if bad else "yes"
        elif kind == AnswerType.CHOICE:
            answers[q["code"]] = q["options"][0 if rng.random() < 0.7 else 1]
        elif kind == AnswerType.NUMBER:
            answers[q["code"]] = str(rng.randint(200, 5000))
        else:
            answers[q["code"]] = _("演示数据：按企业实际情况填写")
    return answers


@transaction.atomic
def prepare_demo() -> list[str]:
    """Walk the 信用张江 services through once with the demo accounts (``qiye`` bound by
    ``lists_demo``, ``yinhang``). Safe to run twice: what exists is kept."""
    if settings.PRODUCTION:
        raise DomainError("demo_in_production", _("生产环境不能创建演示数据"))
    banker = User.objects.filter(username="yinhang").first()
    if banker is None:
        raise DomainError("demo_accounts_missing", _("请先运行 creditplus demo_accounts"))
    enterprise = User.objects.filter(username="qiye", subject_account__isnull=False).first()
    if enterprise is None:
        raise DomainError("demo_enterprise_missing", _("请先运行 creditplus lists_demo"))
    rng = random.Random(SEED)
    lines = []
    bank, _created = Institution.objects.get_or_create(
        uscc=DEMO_BANK[1], defaults={"name": DEMO_BANK[0], "kind": InstitutionKind.BANK}
    )
    InstitutionMember.objects.get_or_create(user=banker, defaults={"institution": bank})
    subject = services.subject_of(enterprise)
    questions = services.active_questionnaire().questions()
    current = Assessment.objects.current().filter(subject=subject)

    with audit_context(context_for_user(enterprise)):
        if not current.filter(kind=AssessmentKind.SELF).exists():
            services.submit_self_assessment(
                enterprise, _answers(questions, rng), comment=_("演示自评")
            )
            lines.append(_("信用张江：%(s)s 已提交自评") % {"s": subject.name})
        today = timezone.localdate()
        if not Grant.objects.in_force(today).filter(subject=subject, institution=bank).exists():
            services.create_grant(
                enterprise, bank, _("流动资金贷款审批"), today + timedelta(days=90)
            )
            lines.append(_("信用张江：已授权 %(b)s 查询企业信用报告 90 天") % {"b": bank.name})
        profile = FinancingProfile.objects.filter(subject=subject, opted_in=True).first()
        if profile is None:
            services.set_financing(enterprise, True, NEEDS[0])

    with audit_context(context_for_user(banker)):
        if not current.filter(kind=AssessmentKind.OTHER, institution=bank).exists():
            answers = _answers(questions, random.Random(SEED))
            # One contradiction, so the enterprise and the credit office see a flagged conflict.
            first_yesno = next(q["code"] for q in questions if q["type"] == AnswerType.YESNO)
            answers[first_yesno] = "no" if answers[first_yesno] == "yes" else "yes"
            services.submit_other_assessment(banker, subject, answers, comment=_("演示他评"))
            lines.append(
                _("信用张江：%(b)s 已提交他评（含一处自评与他评不一致）") % {"b": bank.name}
            )
        if not bank.grants.filter(subject=subject, accesses__isnull=False).exists():
            _grant, report = services.access_report(banker, subject)
            lines.append(
                _("信用张江：%(b)s 已查阅企业信用报告 %(n)s") % {"b": bank.name, "n": report.number}
            )
        lines.append(_matchmaking(rng))
    return lines


def _matchmaking(rng: random.Random) -> str:
    """A few organisations that opted in to financing matchmaking (as if through 我的信用)."""
    existing = set(FinancingProfile.objects.values_list("subject_id", flat=True))
    candidates = list(
        Subject.objects.exclude(kind=SubjectKind.PERSON)
        .exclude(pk__in=existing)
        .order_by("pk")
        .values_list("pk", "uscc")[: MATCHMAKING_SUBJECTS * 4]
    )
    if len(existing) >= MATCHMAKING_SUBJECTS or not candidates:
        return _("信用张江：融资对接名单 %(n)d 家企业") % {"n": len(existing)}
    chosen = rng.sample(candidates, min(MATCHMAKING_SUBJECTS, len(candidates)))
    now = timezone.now()
    profiles = FinancingProfile.objects.bulk_create(
        FinancingProfile(subject_id=pk, opted_in=True, need=rng.choice(NEEDS), updated_at=now)
        for pk, _code in chosen
    )
    audit.record_many(
        "financing.update",
        [
            audit.Change(p, subject=code, after={"opted_in": True, "need": p.need, "demo": True})
            for p, (_pk, code) in zip(profiles, chosen, strict=True)
        ],
    )
    return _("信用张江：融资对接名单 %(n)d 家企业") % {"n": len(existing) + len(profiles)}
