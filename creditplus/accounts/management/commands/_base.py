from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand

from creditplus.accounts.audit import audit_context
from creditplus.errors import DomainError


class AuditedCommand(BaseCommand):
    """A management command whose writes are audited as ``cli:<command>`` by the OS user,
    and whose domain errors print their Chinese message and code instead of a traceback."""

    def execute(self, *args: Any, **options: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = "unknown"
        self.actor_name = f"cli:{name}@{os_user}"
        with audit_context(actor_id=None, actor_name=self.actor_name, department=""):
            try:
                return super().execute(*args, **options)
            except DomainError as exc:
                self.stderr.write(f"错误 [{exc.code}] {exc.message}")
                raise SystemExit(2) from None
