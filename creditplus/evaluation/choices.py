from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("候选")
    ACTIVE = "active", _("启用")
    RETIRED = "retired", _("停用")


class RunMode(models.TextChoices):
    ALL = "all", _("全量评价")
    CHANGED = "changed", _("增量评价")


class Grade(models.TextChoices):
    A = "A", _("A（诚信）")
    B = "B", _("B（良好）")
    C = "C", _("C（警示）")
    D = "D", _("D（失信）")


GRADES = ("A", "B", "C", "D")
