from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "creditplus.reports"
    label = "reports"
    verbose_name = _("信用报告")
