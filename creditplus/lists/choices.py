from django.db import models
from django.utils.translation import gettext_lazy as _


class ListKind(models.TextChoices):
    BLACK = "black", _("失信惩戒（黑名单）")
    WATCH = "watch", _("重点关注")
    RED = "red", _("守信激励（红名单）")


class ListOrigin(models.TextChoices):
    DISTRICT = "district", _("本区认定")
    EXTERNAL = "external", _("外部名单导入")


class EntryOrigin(models.TextChoices):
    AUTO = "auto", _("系统自动提议")
    MANUAL = "manual", _("部门人工提议")
    IMPORTED = "imported", _("名单管理部门推送")


class EntryStatus(models.TextChoices):
    PROPOSED = "proposed", _("待告知")
    NOTICED = "noticed", _("告知期")
    INCLUDED = "included", _("已认定")
    PUBLISHED = "published", _("公示中")
    REJECTED = "rejected", _("不予认定")
    REMOVED = "removed", _("已移出")


OPEN_STATUSES = (EntryStatus.PROPOSED, EntryStatus.NOTICED)
MEMBER_STATUSES = (EntryStatus.INCLUDED, EntryStatus.PUBLISHED)
LIVE_STATUSES = (*OPEN_STATUSES, *MEMBER_STATUSES)


class EndReason(models.TextChoices):
    EXPIRED = "expired", _("期满移出")
    RESTORED = "restored", _("信用修复")
    OBJECTION = "objection", _("异议成立")
    SOURCE_REMOVED = "source_removed", _("名单管理部门移出")
    REVOKED = "revoked", _("撤销认定")
    NOT_INCLUDED = "not_included", _("决定不予认定")


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("处理中")
    ANSWERED = "answered", _("已答复")


class ObjectionOutcome(models.TextChoices):
    CORRECTED = "corrected", _("异议成立，已更正")
    RETRACTED = "retracted", _("异议成立，已撤销")
    UPHELD = "upheld", _("异议成立，不予纳入或移出名单")
    CONFIRMED = "confirmed", _("异议不成立，维持原信息")


class RestorationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    APPROVED = "approved", _("准予修复")
    DENIED = "denied", _("不予修复")


RESTORATION_OPEN = (RestorationStatus.SUBMITTED, RestorationStatus.ACCEPTED)


# The timeline's steps as the services name them (ListTransition.action).
STEP_LABELS = {
    "propose": _("提议"),
    "import": _("名单推送"),
    "notice": _("告知"),
    "include": _("认定列入"),
    "reject": _("不予认定"),
    "publish": _("公示"),
    "remove": _("移出"),
    "objection": _("异议申请"),
    "objection_answer": _("异议答复"),
    "restoration": _("信用修复"),
}
