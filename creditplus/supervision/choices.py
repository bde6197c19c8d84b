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
