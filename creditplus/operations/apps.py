from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Running the platform for years: backup and restore, the schedule, the health report."""

    name = "creditplus.operations"
    verbose_name = _("运维")
