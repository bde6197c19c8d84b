from django.db import models
from django.utils.translation import gettext_lazy as _


class InstitutionKind(models.TextChoices):
    """Who an outside organisation is: the kinds of other-assessors (他评主体), and banks,
    which are also the institutions that receive report grants (科技金融对接)."""

    BANK = "bank", _("银行等金融机构")
    PARK = "park", _("园区管理机构")
    PARTNER = "partner", _("合作伙伴")
    ASSOCIATION = "association", _("行业协会")


class AssessmentKind(models.TextChoices):
    SELF = "self", _("自评")
    OTHER = "other", _("他评")


class AssessmentStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    # A newer assessment by the same assessor of the same subject replaced it.
    SUPERSEDED = "superseded", _("已被更新")


class AnswerType(models.TextChoices):
    YESNO = "yesno", _("是/否")
    CHOICE = "choice", _("单选")
    NUMBER = "number", _("数值")
    TEXT = "text", _("文字")


class AccessAction(models.TextChoices):
    VIEW = "view", _("查看报告")
    DOWNLOAD = "download", _("下载报告")
