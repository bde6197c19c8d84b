from typing import Any

from django.core.management.base import CommandError

from creditplus.accounts import audit
from creditplus.accounts.management.commands._base import ScheduledCommand
from creditplus.accounts.models import AuditEvent


class Command(ScheduledCommand):
    help = "审计日志工具。verify：校验哈希链，发现被篡改、插入或删除的行。"

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="校验审计日志哈希链")
        verify.add_argument(
            "--head",
            help="此前记录的链头哈希（如备份清单中的值）：须仍在链中，用于发现末尾行被删除",
        )

    def job_name(self, options: dict[str, Any]) -> str:
        return f"audit_{options['action']}"

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        result = audit.verify()
        # The health report shows the verified head and when it was verified.
        self.run_log.figures = {"head": result.head_hash, "rows": result.checked}
        if not result.ok:
            raise CommandError(
                f"审计日志校验失败：第一处异常在 id={result.bad_id}：{result.problem}"
                f"（此前 {result.checked} 行完好）"
            )
        expected = options.get("head")
        # A head recorded earlier must still be in the (verified) chain; rows appended since
        # are fine. Each row's hash covers its predecessor, so its presence proves the past.
        if expected and not AuditEvent.objects.filter(hash=expected).exists():
            raise CommandError(
                f"审计日志校验失败：此前记录的链头哈希 {expected} 不在链中"
                f"（当前链头 {result.head_hash}；该行及其后的行可能被删除）"
            )
        self.stdout.write(f"审计日志完好：{result.checked} 行，链头哈希 {result.head_hash}")
