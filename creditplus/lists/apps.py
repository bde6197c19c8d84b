from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListsConfig(AppConfig):
    name = "creditplus.lists"
    label = "lists"
    verbose_name = _("红黑名单")

    def ready(self) -> None:
        from creditplus.lists.events import consume_events
        from creditplus.records import consumers

        consumers.register("lists", consume_events)
