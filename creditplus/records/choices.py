from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchSource(models.TextChoices):
    UPLOAD = "upload", _("页面上传")
    API = "api", _("接口推送")
    CLI = "cli", _("命令行")


class BatchStatus(models.TextChoices):
    DONE = "done", _("已完成")
    FAILED = "failed", _("文件被拒收")


class RecordStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    RETRACTED = "retracted", _("已撤销")


class EventStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    SUPERSEDED = "superseded", _("已被新版本替代")
    RETRACTED = "retracted", _("已撤销")
    RESTORED = "restored", _("已信用修复")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("正在归集")
    CONFIRM = "confirm", _("待确认")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")
