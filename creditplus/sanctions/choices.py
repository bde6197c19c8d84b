from django.db import models
from django.utils.translation import gettext_lazy as _


class MeasureKind(models.TextChoices):
    PUNISHMENT = "punishment", _("失信惩戒")
    REWARD = "reward", _("守信激励")


class MeasureCategory(models.TextChoices):
    RESTRICT_RIGHTS = "restrict_rights", _("限制权利或增加义务")
    MANAGEMENT = "management", _("管理性措施")
    MARKET = "market", _("市场性、社会性措施")
    INCENTIVE = "incentive", _("激励措施")


class MeasureStatus(models.TextChoices):
    IMPLEMENTED = "implemented", _("已完成")
    IN_PROGRESS = "in_progress", _("推进中")
    COORDINATION = "coordination", _("需协调")
    NOT_STARTED = "not_started", _("未启动")


# Measures a district department can apply today; the others exist in the catalog only.
IN_FORCE = (MeasureStatus.IMPLEMENTED, MeasureStatus.IN_PROGRESS)


class MeasureTrigger(models.TextChoices):
    """When a department applies a measure (measures.yaml explains the classification)."""

    STANDING = "standing", _("常态实施")
    ON_APPLICATION = "on_application", _("办理时核查触发")


class TaskOrigin(models.TextChoices):
    ENTRY = "entry", _("名单生效推送")
    CHECK = "check", _("信用核查触发")


class CoordinationLevel(models.TextChoices):
    DISTRICT = "district", _("区级")
    CITY = "city", _("市级协调")
    NATIONAL = "national", _("国家层面协调")


class Target(models.TextChoices):
    SUBJECT = "subject", _("主体本身")
    LEGAL_REP = "legal_rep", _("法定代表人/负责人")


class CaseOrigin(models.TextChoices):
    AUTO = "auto", _("名单公示自动发起")
    MANUAL = "manual", _("信用办人工发起")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("实施中")
    CLOSED = "closed", _("已结束")


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("待反馈")
    APPLIED = "applied", _("已实施")
    NOT_APPLICABLE = "not_applicable", _("不适用")
    FAILED = "failed", _("未能实施")
    CLOSED = "closed", _("已关闭")


# Why the tasks of on-application measures created before the change were closed.
RETRIGGER_REASON = "改为办理时核查触发"
PLATFORM_REASON = "改由平台自动实施"

FEEDBACK_OUTCOMES = (TaskStatus.APPLIED, TaskStatus.NOT_APPLICABLE, TaskStatus.FAILED)
