"""Demo of government integrity evaluation (development only, used by ``make demo``)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts.audit import audit_context, context_for_user
from creditplus.accounts.models import User
from creditplus.errors import DomainError
from creditplus.integrity import services
from creditplus.integrity.choices import Source
from creditplus.integrity.models import AssessorScore, IntegrityIndicator

SEED = 20260701
# Departments left without assessor scores in the current quarter: shown as 待评估.
PENDING_DEPARTMENTS = 3


@transaction.atomic
def prepare_demo() -> list[str]:
    """The previous and the current quarter computed from the demo data, and assessor
    scores entered by the demo assessor ``pinggu`` (all departments in the previous quarter,
    all but the last few in the current one). Safe to run twice: existing scores are kept."""
    if settings.PRODUCTION:
        raise DomainError("demo_in_production", _("生产环境不能创建演示数据"))
    assessor = User.objects.filter(username="pinggu").first()
    if assessor is None:
        raise DomainError("demo_accounts_missing", _("请先运行 creditplus demo_accounts"))
    today = timezone.localdate()
    current = services.current_quarter(today)
    previous = services.current_quarter(services.period_bounds(current)[1] - timedelta(days=100))
    indicators = list(IntegrityIndicator.objects.filter(source=Source.ASSESSOR))
    departments = list(services.assessed_departments().order_by("sort_order", "code"))
    rng = random.Random(SEED)
    lines = []
    for code in (previous, current):
        period = services.ensure_period(code)
        if not period.is_open:
            lines.append(f"政务诚信：评价周期 {code} 已结束，未重新计算")
            continue
        n = services.compute_period(period, as_of=min(today, period.end))
        scored = departments[:-PENDING_DEPARTMENTS] if code == current else departments
        entered = 0
        with audit_context(context_for_user(assessor)):
            for department in scored:
                for indicator in indicators:
                    points = rng.randint(70, 98)
                    if AssessorScore.objects.filter(
                        period=period, department=department, indicator=indicator
                    ).exists():
                        continue
                    services.enter_assessor_score(
                        assessor,
                        period,
                        department,
                        indicator,
                        points=points,
                        evidence=f"{code} 第三方评估：{indicator.name}（演示数据）",
                    )
                    entered += 1
        lines.append(f"政务诚信：评价周期 {code} 计算得分 {n} 项，第三方评估新录入 {entered} 项")
    return lines
