from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "creditplus.assessments"
    label = "assessments"
    verbose_name = _("信用张江")
