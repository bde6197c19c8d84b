from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "creditplus.records"
    label = "records"
    verbose_name = _("信用信息归集")
