from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "creditplus.supervision"
    label = "supervision"
    verbose_name = _("信用监管")
