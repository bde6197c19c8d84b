from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "creditplus.portal"
    label = "portal"
    verbose_name = _("信用浦东网站")
