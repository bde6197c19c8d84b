from django.db import models
from django.utils.translation import gettext_lazy as _


class SubjectKind(models.TextChoices):
    LEGAL = "legal", _("法人及非法人组织")
    INDIVIDUAL = "individual", _("个体工商户")
    PERSON = "person", _("自然人")


# The national template's 行政相对人类别 values, mapped to our subject kinds.
XDR_LB_KIND = {
    "法人及非法人组织": SubjectKind.LEGAL,
    "个体工商户": SubjectKind.INDIVIDUAL,
    "自然人": SubjectKind.PERSON,
}


class Disclosure(models.TextChoices):
    PUBLIC = "public", _("向社会公开")
    GOVERNMENT = "government", _("政务共享")
    AUTHORIZED = "authorized", _("授权查询")


class BehaviorKind(models.TextChoices):
    TRUSTWORTHY = "trustworthy", _("守信行为")
    UNTRUSTWORTHY = "untrustworthy", _("失信行为")


class Severity(models.TextChoices):
    MINOR = "minor", _("轻微")
    GENERAL = "general", _("一般")
    SERIOUS = "serious", _("严重")


FIELD_TYPES = ("text", "code", "multicode", "date", "decimal", "integer", "uscc", "id_number")
