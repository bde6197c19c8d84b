"""The schedule as code: every scheduled command, how often it runs, and the services.

``creditplus schedule`` prints it as a cron file or as systemd units; ``creditplus doctor``
reads the intervals to tell a job that has stopped (no success for twice its interval).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Job:
    name: str  # as its runs are recorded (JobRun.name)
    command: str  # arguments of `creditplus`
    cron: str  # the five crontab time fields
    interval: timedelta
    title: str  # short, for the health report
    what: str

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)


# Staggered minutes keep the hourly and nightly jobs from starting together.
SCHEDULE: tuple[Job, ...] = (
    Job(
        "sanctions_maintain",
        "sanctions_maintain",
        "*/5 * * * *",
        5 * MINUTE,
        "联合奖惩与监测",
        "逾期提醒、严重失信预警、webhook 推送、每日摘要",
    ),
    Job(
        "portal_statistics",
        "portal_statistics",
        "*/10 * * * *",
        10 * MINUTE,
        "首页统计",
        "信用浦东首页的统计数据",
    ),
    Job(
        "lists_maintain",
        "lists_maintain",
        "7 * * * *",
        HOUR,
        "名单维护",
        "新事件、期满移出、异议督办",
    ),
    Job(
        "supervision_maintain",
        "supervision_maintain",
        "17 * * * *",
        HOUR,
        "分类监管维护",
        "双告知、修复承诺跟踪、承诺核查提醒",
    ),
    Job(
        "evaluate_changed",
        "evaluate --changed",
        "27 * * * *",
        HOUR,
        "增量信用评价",
        "信息或名单有变化的主体",
    ),
    Job("doctor", "doctor", "50 * * * *", HOUR, "运行状况检查", "并记录数据库增长"),
    Job("opendata_publish", "opendata_publish", "0 1 * * *", DAY, "数据开放", "当日全量文件与增量"),
    Job(
        "backup",
        "backup --dir /var/backups/creditplus --keep 14 --files",
        "30 1 * * *",
        DAY,
        "数据库备份",
        "连同上传文件与开放数据，保留 14 份",
    ),
    Job("evaluate_all", "evaluate --all", "0 2 * * *", DAY, "全量信用评价", "全部市场主体"),
    Job(
        "integrity_compute",
        "integrity_compute",
        "0 3 * * *",
        DAY,
        "政务诚信指标",
        "当前季度由平台数据得出的指标",
    ),
    Job("audit_verify", "audit verify", "30 4 * * *", DAY, "审计日志校验", "哈希链完整性"),
)


def job(name: str) -> Job:
    return next(j for j in SCHEDULE if j.name == name)


@dataclass(frozen=True)
class Host:
    """Where the platform is installed on a server (the deployment guide's defaults)."""

    bin: str = "/opt/creditplus/.venv/bin/creditplus"
    user: str = "creditplus"
    env_file: str = "/etc/creditplus/env"
    log: str = "/var/log/creditplus/jobs.log"


def crontab(host: Host) -> str:
    """An /etc/cron.d file: each line loads the environment file and runs one job."""
    lines = [
        "# creditplus 定时任务（由 `creditplus schedule` 生成）。安装：保存为 /etc/cron.d/creditplus",
        "SHELL=/bin/sh",
        "PATH=/usr/local/bin:/usr/bin:/bin",
    ]
    for j in SCHEDULE:
        run = f"set -a; . {host.env_file}; set +a; {host.bin} {j.command} >> {host.log} 2>&1"
        lines += [f"# {j.title}：{j.what}", f"{j.cron} {host.user} {run}"]
    return "\n".join(lines) + "\n"


def _cron_to_calendar(cron: str) -> str:
    """systemd OnCalendar for the few crontab forms the schedule uses."""
    minute, hour, *_ = cron.split()
    if minute.startswith("*/"):
        return f"*:0/{minute[2:]}"
    return f"*-*-* {'*' if hour == '*' else hour.zfill(2)}:{minute.zfill(2)}:00"


def systemd_units(host: Host) -> str:
    """The web server, the background worker, and a service and timer per job."""
    gunicorn = str(PurePosixPath(host.bin).parent / "gunicorn")
    common = (
        f"User={host.user}\nEnvironmentFile={host.env_file}\nWorkingDirectory=/opt/creditplus\n"
    )
    units = {
        "creditplus-web.service": (
            "[Unit]\nDescription=creditplus 网站与 API (gunicorn)\nAfter=network.target\n\n"
            f"[Service]\n{common}"
            f"ExecStart={gunicorn} creditplus.wsgi -k gthread -w 4 "
            "--threads 4 --keep-alive 30 -b 127.0.0.1:8000 --timeout 120\n"
            "Restart=always\n\n[Install]\nWantedBy=multi-user.target\n"
        ),
        "creditplus-worker.service": (
            "[Unit]\nDescription=creditplus 后台任务（上传文件的归集等）\nAfter=network.target\n\n"
            f"[Service]\n{common}ExecStart={host.bin} db_worker --no-reload\n"
            "Restart=always\n\n[Install]\nWantedBy=multi-user.target\n"
        ),
    }
    for j in SCHEDULE:
        units[f"creditplus-{j.name}.service"] = (
            f"[Unit]\nDescription=creditplus {j.title}：{j.what}\n\n"
            f"[Service]\nType=oneshot\n{common}ExecStart={host.bin} {j.command}\n"
        )
        units[f"creditplus-{j.name}.timer"] = (
            f"[Unit]\nDescription=creditplus {j.title}（定时）\n\n"
            f"[Timer]\nOnCalendar={_cron_to_calendar(j.cron)}\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        )
    return "".join(
        f"# --- /etc/systemd/system/{name} ---\n{body}\n" for name, body in units.items()
    )
