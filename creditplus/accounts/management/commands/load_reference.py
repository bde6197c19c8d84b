from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.db import transaction

from creditplus.accounts.management.commands._base import AuditedCommand


class Command(AuditedCommand):
    help = "载入全部参考数据（部门、角色、三清单……），可重复执行。"

    def handle(self, *args: Any, **options: Any) -> None:
        # Apps are listed in dependency order in INSTALLED_APPS, so loaders run in it too.
        with transaction.atomic():
            for config in apps.get_app_configs():
                module_name = f"{config.name}.reference"
                if not config.name.startswith("creditplus.") or find_spec(module_name) is None:
                    continue
                for loader in import_module(module_name).LOADERS:
                    self.stdout.write(loader())
        self.stdout.write(self.style.SUCCESS("参考数据已载入。"))
