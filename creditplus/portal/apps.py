from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "creditplus.portal"
    label = "portal"
    verbose_name = _("信用浦东网站")

    def ready(self) -> None:
        from creditplus.portal.statistics import change_log_read_up_to
        from creditplus.subjects.services import read_changes_as

        read_changes_as("home statistics", change_log_read_up_to)
