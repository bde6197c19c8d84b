from typing import Any

from django.core.management.base import BaseCommand

from creditplus.operations.schedule import Host, crontab, systemd_units


class Command(BaseCommand):
    help = (
        "打印定时任务配置：每个定时命令及其运行频率（cron 文件，或 systemd 服务与定时器），"
        "以及网站与后台任务进程的服务。部署方法见 docs/deploy.md。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["cron", "systemd"], default="cron")
        parser.add_argument("--bin", default=Host.bin, help="creditplus 命令的完整路径")
        parser.add_argument("--user", default=Host.user, help="运行任务的系统用户")
        parser.add_argument("--env-file", default=Host.env_file, help="环境变量文件")
        parser.add_argument("--log", default=Host.log, help="cron：任务输出追加到此文件")

    def handle(self, *args: Any, **options: Any) -> None:
        host = Host(
            bin=options["bin"],
            user=options["user"],
            env_file=options["env_file"],
            log=options["log"],
        )
        text = crontab(host) if options["format"] == "cron" else systemd_units(host)
        self.stdout.write(text, ending="")
