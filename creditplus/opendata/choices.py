from django.db import models
from django.utils.translation import gettext_lazy as _


class Change(models.TextChoices):
    """How an item differs from the previous publication (the delta files' ``change``)."""

    ADDED = "added", _("新增")
    CHANGED = "changed", _("变更")
    REMOVED = "removed", _("移出")


class PublicationStatus(models.TextChoices):
    DONE = "done", _("已发布")
    FAILED = "failed", _("失败")
