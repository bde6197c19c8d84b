from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SanctionsConfig(AppConfig):
    name = "creditplus.sanctions"
    label = "sanctions"
    verbose_name = _("联合奖惩")

    def ready(self) -> None:
        from creditplus.evaluation import services as evaluation
        from creditplus.lists import services as lists
        from creditplus.records import consumers
        from creditplus.sanctions import monitoring
        from creditplus.sanctions.services import on_membership_change

        lists.on_membership("sanctions", on_membership_change)
        lists.on_membership("monitoring", monitoring.on_membership_change)
        consumers.register("monitoring", monitoring.consume_events)
        evaluation.on_grade_change("monitoring", monitoring.on_grade_change)
