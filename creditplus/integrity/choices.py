from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    COMPUTED = "computed", _("平台数据计算")
    ASSESSOR = "assessor", _("第三方评估")


class PeriodKind(models.TextChoices):
    QUARTER = "quarter", _("季度")
    YEAR = "year", _("年度")


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("评价中")
    CLOSED = "closed", _("已结束")


class ScoreStatus(models.TextChoices):
    """How one indicator of one department stands in a period."""

    SCORED = "scored", _("已得分")
    NOT_APPLICABLE = "not_applicable", _("不适用")
    PENDING = "pending", _("待评估")
