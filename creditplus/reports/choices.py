from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("法人公共信用信息报告")
    PERSONAL = "personal", _("自然人公共信用信息报告")
    ZHANGJIANG = "zhangjiang", _("企业信用报告（信用张江）")


class ReportChannel(models.TextChoices):
    ONLINE = "online", _("网上自助查询")
    WINDOW = "window", _("窗口查询")


class IdVerification(models.TextChoices):
    """How the window clerk verified the natural person's (or the agent's) identity."""

    ID_CARD = "id_card", _("居民身份证原件核验")
    ID_CARD_READER = "id_card_reader", _("身份证阅读器读取并人证比对")
    FACE = "face", _("公安人像比对核验")
    ELECTRONIC = "electronic", _("电子身份证（网证）核验")


class Authorizer(models.TextChoices):
    SELF = "self", _("本人办理")
    AGENT = "agent", _("委托代理人办理")
