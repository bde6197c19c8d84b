from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    name = "creditplus.evaluation"
    label = "evaluation"
    verbose_name = _("信用评价")

    def ready(self) -> None:
        from creditplus.evaluation.services import change_log_read_up_to
        from creditplus.subjects.services import read_changes_as

        read_changes_as("evaluation", change_log_read_up_to)
