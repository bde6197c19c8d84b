"""Demo walk-through of the list procedures (development only, used by ``make demo``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts.models import User
from creditplus.errors import DomainError
from creditplus.lists import services
from creditplus.lists.choices import EntryStatus
from creditplus.lists.models import ListEntry
from creditplus.subjects.models import SubjectAccount
from creditplus.subjects.services import bind_enterprise_user


@transaction.atomic
def prepare_demo(password: str) -> list[str]:
    """Bind the enterprise demo account ``qiye`` to a subject with an open blacklist proposal
    of 区市场监管局, and take another proposal of that department through notice, decision
    and publication (as if the response period had passed). Safe to run twice."""
    if settings.PRODUCTION:
        raise DomainError("demo_in_production", _("生产环境不能创建演示数据"))
    officer = User.objects.filter(username="scjg").first()
    if officer is None:
        raise DomainError("demo_accounts_missing", _("请先运行 creditplus demo_accounts"))
    lines = []
    proposals = ListEntry.objects.filter(
        list_type__code="YZSX",
        department=officer.department,
        status=EntryStatus.PROPOSED,
        subject__uscc__gt="",
    ).order_by("id")
    user, created = User.objects.get_or_create(
        username="qiye", defaults={"first_name": _("企业演示账号")}
    )
    if created:
        user.set_password(password)
        user.save()
    account = SubjectAccount.objects.filter(user=user).first()
    if account is None and (first := proposals.first()) is not None:
        account = bind_enterprise_user(
            "qiye", first.subject.uscc, verified_by=_("演示数据"), clerk="chuangkou"
        )
        services.send_notice(first, officer)
    if account is not None:
        lines.append(_("企业演示账号 qiye 已绑定：%(s)s") % {"s": account.subject.name})
    published = ListEntry.objects.filter(
        list_type__code="YZSX", status=EntryStatus.PUBLISHED
    ).count()
    if not published:
        second = proposals.exclude(subject__accounts__isnull=False).first()
        if second is not None:
            long_ago = timezone.localdate() - timedelta(days=60)
            services.send_notice(second, officer, today=long_ago)
            services.decide_entry(
                second, officer, include=True, decision_no=_("沪浦市监信〔2026〕1号（演示）")
            )
            services.publish_entry(second, officer)
            lines.append(_("已公示一条严重失信主体名单：%(s)s") % {"s": second.subject.name})
    return lines
