"""Demo walk-through of credit supervision (development only, used by ``make demo``)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts.models import User
from creditplus.errors import DomainError
from creditplus.records.models import CreditEvent
from creditplus.subjects.models import Subject, SubjectAccount
from creditplus.supervision import dual_notice, inspections, services
from creditplus.supervision.choices import Channel, InspectionResult
from creditplus.supervision.models import CommitmentTemplate, InspectionPlan, SupervisionField

SEED = 20171115
# Smaller than the policy's ratios (D: every one) so that the demo stays quick to load.
DEMO_RATIOS = {"A": 0.05, "B": 0.03, "C": 0.08, "D": 0.12}


@transaction.atomic
def prepare_demo() -> list[str]:
    """A drawn 双随机 plan of 区市场监管局 with recorded results, a few commitments (one
    breached), and the 双告知 of the demo registrations. Safe to run twice.

    The demo inspectors find a problem with a probability that rises with the subject's
    untrustworthy events of the last three years — independent of the grade itself — so
    the problem-rate-by-grade chart shows whether the grades predict risk."""
    if settings.PRODUCTION:
        raise DomainError("demo_in_production", _("生产环境不能创建演示数据"))
    officer = User.objects.filter(username="scjg").first()
    if officer is None:
        raise DomainError("demo_accounts_missing", _("请先运行 creditplus demo_accounts"))
    lines = [f"双告知：新告知 {dual_notice.notify_new_registrations()} 项"]
    field = SupervisionField.objects.get(code="SCJG")
    if not InspectionPlan.objects.filter(field=field).exists():
        plan = inspections.draw_plan(
            officer,
            field,
            _("2026年度市场主体年报及经营行为双随机抽查"),
            ratios=DEMO_RATIOS,
            seed=SEED,
        )
        _record_results(plan, officer)
        lines.append(
            f"双随机抽查：{plan.number}，抽取 {plan.inspections.count()} 户，已录入检查结果"
            f"（{officer.username} 已审核大部分，其余待审核）"
        )
    lines.extend(_commitments(officer))
    return lines


def _record_results(plan: InspectionPlan, reviewer: User) -> None:
    """Results recorded by the drawn inspectors; the reviewer approves the others
    (published); every eighth recorded one, the first included, waits for review (审核)."""
    rng = np.random.default_rng(SEED)
    since = timezone.localdate() - timedelta(days=3 * 365)
    drawn = list(plan.inspections.select_related("subject", "inspector_a"))
    bad = dict(
        CreditEvent.objects.filter(
            subject_id__in=[i.subject_id for i in drawn],
            kind="untrustworthy",
            occurred_on__gte=since,
        )
        .values("subject_id")
        .annotate(n=Count("id"))
        .values_list("subject_id", "n")
    )
    recorded = 0
    for inspection in drawn:
        if rng.random() < 0.15:
            continue  # still open: a plan in progress
        p = min(0.05 + 0.06 * bad.get(inspection.subject_id, 0), 0.8)
        if rng.random() < p:
            result = rng.choice(
                [
                    InspectionResult.CORRECTED,
                    InspectionResult.FOLLOW_UP,
                    InspectionResult.UNREACHABLE,
                ],
                p=[0.6, 0.25, 0.15],
            )
            findings = _("年度报告公示的从业人数、经营场所与实际不符，已责令限期改正")
        else:
            result, findings = InspectionResult.NO_PROBLEM, ""
        inspections.record_result(
            inspection.inspector_a, inspection, result=str(result), findings=findings
        )
        if recorded % 8:
            inspections.review_result(reviewer, inspection, approve=True)
        recorded += 1


def _commitments(officer: User) -> list[str]:
    template = CommitmentTemplate.objects.get(code="GZCN-JYXK")
    if template.commitment_set.exists():
        return []
    account = (
        SubjectAccount.objects.select_related("user", "subject")
        .filter(user__username="qiye")
        .first()
    )
    subjects = list(
        Subject.objects.organisations()
        .filter(~Q(pk=account.subject_id) if account else Q())
        .order_by("pk")[:3]
    )
    signed = []
    if account is not None:
        signed.append(
            services.sign_commitment(
                account.user,
                template,
                account.subject,
                reason=_("申请食品经营许可（告知承诺制）"),
                signer=account.subject.legal_rep_name or _("法定代表人"),
                channel=Channel.ONLINE,
            )
        )
    for subject in subjects:
        signed.append(
            services.sign_commitment(
                officer,
                template,
                subject,
                reason=_("申请食品经营许可（告知承诺制）"),
                signer=subject.legal_rep_name or _("法定代表人"),
                channel=Channel.PAPER,
            )
        )
    if len(signed) >= 3:
        services.verify_commitment(officer, signed[-1], outcome="全部履行")
        services.verify_commitment(
            officer,
            signed[-2],
            outcome="全部未履行",
            unfulfilled=_("现场核查发现经营场所与承诺不符，未配备冷藏设施"),
            liability=_("撤销食品经营许可决定"),
        )
    return [f"信用承诺：签署 {len(signed)} 份（1 份履行、1 份违诺，其余待核查）"]
