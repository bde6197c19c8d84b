from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubjectsConfig(AppConfig):
    name = "creditplus.subjects"
    label = "subjects"
    verbose_name = _("信用主体")
