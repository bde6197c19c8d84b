from __future__ import annotations

import getpass
import logging
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, OutputWrapper

from creditplus.accounts.audit import audit_context
from creditplus.accounts.jobs import RunLog, exclusive
from creditplus.errors import DomainError

logger = logging.getLogger("creditplus.jobs")


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
                self.domain_error = exc
                self.stderr.write(f"错误 [{exc.code}] {exc.message}")
                raise SystemExit(2) from None


class _Tee:
    """Passes output through and keeps its last non-empty line as the run's summary."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.last_line = ""

    def write(self, text: str) -> int:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            self.last_line = lines[-1]
        return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return self._out.isatty()


class ScheduledCommand(AuditedCommand):
    """A command that cron runs on a schedule (see ``creditplus schedule``): one run at a time
    (an overlapping run says so and does nothing), and every run recorded with its duration,
    summary (its last line of output) and error, for ``creditplus doctor``."""

    def job_name(self, options: dict[str, Any]) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def execute(self, *args: Any, **options: Any) -> Any:
        name = self.job_name(options)
        tee = _Tee(options.get("stdout") or sys.stdout)
        options["stdout"] = tee
        with exclusive(name) as held:
            if not held:
                err = OutputWrapper(options["stderr"]) if options.get("stderr") else self.stderr
                err.write(f"{name}：上一次运行尚未结束，本次不执行。")
                logger.info("job=%s status=skipped reason=running", name)
                return None
            self.run_log = RunLog(name)
            try:
                result = super().execute(*args, **options)
            except BaseException as exc:
                self._finish(tee, exc)
                raise
            self._finish(tee, None)
            return result

    def _finish(self, tee: _Tee, error: BaseException | None) -> None:
        if isinstance(error, SystemExit):
            error = getattr(self, "domain_error", None) if error.code else None
        self.run_log.summary = self.run_log.summary or tee.last_line
        try:
            self.run_log.finish(error)
        except Exception:
            # Recording must never hide the run's own outcome.
            logger.exception("job=%s: the run could not be recorded", self.run_log.name)
