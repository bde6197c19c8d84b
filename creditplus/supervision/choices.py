from django.db import models
from django.utils.translation import gettext_lazy as _


class Lane(models.TextChoices):
    FAST = "fast", _("快速通道")
    NORMAL = "normal", _("常规办理")
    SLOW = "slow", _("从严审查")


class Channel(models.TextChoices):
    ONLINE = "online", _("网上签署")
    PAPER = "paper", _("窗口纸质")


class CommitmentStatus(models.TextChoices):
    SIGNED = "signed", _("待核查")
    FULFILLED = "fulfilled", _("已履行")
    BREACHED = "breached", _("未履行")


class Outcome(models.TextChoices):
    """The national 承诺履行状态 code table (CNLXZT)."""

    FULL = "全部履行", _("全部履行")
    PARTIAL = "部分履行", _("部分履行")
    NONE = "全部未履行", _("全部未履行")


class PlanStatus(models.TextChoices):
    DRAWN = "drawn", _("已抽取，检查中")
    CLOSED = "closed", _("已完成")


class InspectionResult(models.TextChoices):
    """The national 抽查检查结果 code table (CCJG), plus "not yet inspected"."""

    PENDING = "", _("待检查")
    NO_PROBLEM = "未发现问题", _("未发现问题")
    CORRECTED = "发现问题已责令改正", _("发现问题，已责令改正")
    FOLLOW_UP = "发现问题待后续处理", _("发现问题，待后续处理")
    NO_ACTIVITY = "未发现开展本次抽查涉及的经营活动", _("未发现开展本次抽查涉及的经营活动")
    UNREACHABLE = "住所无法联系", _("通过登记的住所（经营场所）无法联系")
    OBSTRUCTED = "不配合检查", _("不配合检查，情节严重")


PROBLEM_RESULTS = (
    InspectionResult.CORRECTED,
    InspectionResult.FOLLOW_UP,
    InspectionResult.UNREACHABLE,
    InspectionResult.OBSTRUCTED,
)
