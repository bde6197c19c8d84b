"""The health report (运行状况): is the platform keeping up, and is its record safe?

Each finding has a status (正常 / 警告 / 异常) and a Chinese explanation that says what to do.
``creditplus doctor`` prints it, the platform administrator's back-office page shows it, and
``/healthz?deep=1`` returns it to monitoring systems.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditplus.accounts import audit
from creditplus.accounts.jobs import last_runs
from creditplus.accounts.models import JobRun
from creditplus.operations.schedule import SCHEDULE
from creditplus.records import consumers
from creditplus.records.models import DeferredIndex

# Who may read the report: the platform administrator (page, /healthz?deep=1 signed in); a
# monitoring system uses CREDITPLUS_HEALTH_TOKEN instead.
READ_PERMISSION = "accounts.view_jobrun"
GIB = 2**30
CONSUMER_WARN_AFTER = timedelta(minutes=15)
CONSUMER_ERROR_AFTER = timedelta(days=1)
WAL_WARN_BYTES = 1 * GIB
DISK_WARN_SHARE, DISK_ERROR_SHARE = 0.10, 0.03
CERT_WARN_DAYS = 30


class Status(models.TextChoices):
    OK = "ok", gettext_lazy("正常")
    WARNING = "warning", gettext_lazy("警告")
    ERROR = "error", gettext_lazy("异常")


RANK = {Status.OK: 0, Status.WARNING: 1, Status.ERROR: 2}


@dataclass
class Finding:
    area: str  # stable key, e.g. "consumer:lists"
    title: str
    status: Status
    explanation: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "title": self.title,
            "status": self.status.value,
            "status_label": str(self.status.label),
            "explanation": self.explanation,
            "figures": self.figures,
        }


@dataclass
class Report:
    findings: list[Finding]
    checked_at: datetime

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), key=RANK.get, default=Status.OK)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "checked_at": self.checked_at.isoformat(),
            "findings": [f.as_dict() for f in self.findings],
        }


def report(now: datetime | None = None) -> Report:
    """Every check, in the order an operator reads them."""
    now = now or timezone.now()
    runs = last_runs()
    findings = [
        database(now),
        *consumer_findings(now),
        bulk_load(now),
        *job_findings(now, runs),
        background_jobs(),
        audit_chain(now, runs),
        disk(),
        *production(now),
    ]
    return Report(findings, now)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def database_size() -> dict[str, int]:
    if connection.vendor == "sqlite":
        path = Path(settings.DATABASES["default"]["NAME"])
        wal = path.with_name(path.name + "-wal")
        return {
            "bytes": path.stat().st_size if path.exists() else 0,
            "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return {"bytes": cursor.fetchone()[0]}


def database(now: datetime) -> Finding:
    size = database_size()
    text = _("数据库 %(size)s") % {"size": _mib(size["bytes"])}
    earlier = (
        JobRun.objects.filter(name="doctor", ok=True, started_at__lte=now - timedelta(hours=20))
        .values_list("figures", "started_at")
        .first()
    )
    if earlier and earlier[0].get("database_bytes"):
        hours = (now - earlier[1]).total_seconds() / 3600
        grown = size["bytes"] - earlier[0]["database_bytes"]
        text += _("，%(hours).0f 小时内增长 %(grown)s") % {"hours": hours, "grown": _mib(grown)}
    status = Status.OK
    if size.get("wal_bytes", 0) > WAL_WARN_BYTES:
        status = Status.WARNING
        text += _(
            "。WAL 文件 %(wal)s 过大：通常是有长时间的读取阻止了检查点，请查看长时间运行的任务"
        ) % {"wal": _mib(size["wal_bytes"])}
    elif "wal_bytes" in size:
        text += _("，WAL %(wal)s") % {"wal": _mib(size["wal_bytes"])}
    return Finding("database", _("数据库"), status, text, size)


def consumer_findings(now: datetime) -> list[Finding]:
    found = []
    for name in consumers.names():
        unread, oldest = consumers.lag(name)
        age = now - oldest if oldest else timedelta(0)
        status = Status.OK
        if unread and age > CONSUMER_ERROR_AFTER:
            status = Status.ERROR
        elif unread and age > CONSUMER_WARN_AFTER:
            status = Status.WARNING
        if not unread:
            text = _("已处理全部信用行为事件")
        else:
            text = _("有 %(n)s 条事件尚未处理，最早的产生于 %(minutes)s 分钟前") % {
                "n": f"{unread:,}",
                "minutes": int(age.total_seconds() // 60),
            }
            if status != Status.OK:
                text += _("。消费者应在每批归集后和各维护任务中运行：请检查定时任务和归集日志")
        figures = {"unread": unread, "oldest_age_seconds": int(age.total_seconds())}
        found.append(
            Finding(
                f"consumer:{name}", _("事件消费：%(name)s") % {"name": name}, status, text, figures
            )
        )
    return found


def bulk_load(now: datetime) -> Finding:
    """A bulk load still running, or killed before it rebuilt the indexes it dropped
    (``records.bulkload``): reads that need them scan meanwhile, and on PostgreSQL autovacuum
    of the records and events tables stays off until they are rebuilt."""
    dropped = list(DeferredIndex.objects.values_list("dropped_at", flat=True))
    if not dropped:
        return Finding(
            "bulk_load",
            _("批量载入"),
            Status.OK,
            _("没有未完成的批量载入"),
            {"deferred_indexes": 0},
        )
    age = now - min(dropped)
    text = _(
        "批量载入删除的 %(n)d 个索引尚未重建（%(minutes)d 分钟前删除）：其间按主体查询记录的页面"
        "会变慢，PostgreSQL 上记录表和事件表的自动清理也已暂停。若载入仍在进行，它结束时会自动"
        "重建；若载入已中断，请运行 creditplus load --restore-indexes。"
    ) % {"n": len(dropped), "minutes": int(age.total_seconds() // 60)}
    figures = {"deferred_indexes": len(dropped), "age_seconds": int(age.total_seconds())}
    return Finding("bulk_load", _("批量载入"), Status.WARNING, text, figures)


def job_findings(now: datetime, runs: dict[str, dict[str, JobRun | None]]) -> list[Finding]:
    found = []
    for job in SCHEDULE:
        last = runs.get(job.name, {}).get("last")
        last_ok = runs.get(job.name, {}).get("last_ok")
        title = _("定时任务：%(title)s") % {"title": job.title}
        figures: dict[str, Any] = {"interval_seconds": int(job.interval.total_seconds())}
        if last_ok is None:
            status, text = Status.WARNING, _("从未成功运行：请按 creditplus schedule 配置定时任务")
        else:
            figures |= {"last_ok": last_ok.started_at.isoformat(), "seconds": last_ok.seconds}
            since = now - last_ok.started_at
            text = _("上次成功：%(when)s（用时 %(sec).1f 秒）：%(summary)s") % {
                "when": timezone.localtime(last_ok.started_at).strftime("%Y-%m-%d %H:%M"),
                "sec": last_ok.seconds,
                "summary": last_ok.summary or "—",
            }
            status = Status.OK
            if since > 2 * job.interval:
                status = Status.WARNING
                text = _("已超过两个周期没有成功运行。") + text
        if last is not None and not last.ok:
            status = Status.WARNING if status == Status.OK else status
            text += _("。最近一次运行失败：%(error)s") % {"error": last.error or "—"}
        found.append(Finding(f"job:{job.name}", title, status, text, figures))
    return found


def background_jobs() -> Finding:
    title = _("后台任务")
    if not apps.is_installed("django_tasks_db"):
        return Finding("background", title, Status.OK, _("未启用后台任务队列"))
    from django_tasks_db.models import DBTaskResult

    result = DBTaskResult.objects
    figures = {
        "waiting": result.ready().count(),
        "running": result.running().count(),
        "failed_last_day": result.failed()
        .filter(finished_at__gte=timezone.now() - timedelta(days=1))
        .count(),
    }
    text = _("等待 %(waiting)s，运行中 %(running)s，近 24 小时失败 %(failed_last_day)s") % figures
    status = Status.OK
    if figures["failed_last_day"]:
        status = Status.WARNING
        text += _("。请在管理后台查看失败任务的错误信息")
    return Finding("background", title, status, text, figures)


def audit_chain(now: datetime, runs: dict[str, dict[str, JobRun | None]]) -> Finding:
    head = audit.head()
    last = runs.get("audit_verify", {}).get("last")
    last_ok = runs.get("audit_verify", {}).get("last_ok")
    figures: dict[str, Any] = {"head": head}
    title = _("审计日志")
    if last is not None and not last.ok:
        text = _("最近一次校验失败：%(error)s。请立即核查，并用备份清单中的链头比对") % {
            "error": last.error
        }
        return Finding("audit", title, Status.ERROR, text, figures)
    if last_ok is None:
        text = _("链头 %(head)s…；尚未校验过：请运行 creditplus audit verify") % {"head": head[:16]}
        return Finding("audit", title, Status.WARNING, text, figures)
    figures["verified_at"] = last_ok.started_at.isoformat()
    text = _("链头 %(head)s…；上次校验 %(when)s，%(rows)s 行完好") % {
        "head": head[:16],
        "when": timezone.localtime(last_ok.started_at).strftime("%Y-%m-%d %H:%M"),
        "rows": f"{last_ok.figures.get('rows', 0):,}",
    }
    status = Status.OK
    if now - last_ok.started_at > timedelta(days=2):
        status = Status.WARNING
        text += _("。已超过两天未校验")
    return Finding("audit", title, status, text, figures)


def disk() -> Finding:
    usage = shutil.disk_usage(settings.VAR_DIR)
    share = usage.free / usage.total if usage.total else 0
    figures = {"free_bytes": usage.free, "total_bytes": usage.total}
    status = Status.OK
    if share < DISK_ERROR_SHARE:
        status = Status.ERROR
    elif share < DISK_WARN_SHARE:
        status = Status.WARNING
    text = _("数据目录所在磁盘剩余 %(free)s GiB（%(pct).0f%%）") % {
        "free": f"{usage.free / GIB:,.1f}",
        "pct": share * 100,
    }
    if status != Status.OK:
        text += _("：请清理旧备份和旧的开放数据，或扩容")
    return Finding("disk", _("磁盘空间"), status, text, figures)


def production(now: datetime) -> list[Finding]:
    """Django's deployment checks in production, and the TLS certificate's expiry."""
    title = _("生产配置")
    if not settings.PRODUCTION:
        found = [Finding("production", title, Status.OK, _("开发环境：不检查生产配置"))]
    else:
        problems = [
            m
            for m in checks.run_checks(include_deployment_checks=True)
            if m.level >= checks.WARNING and not m.is_silenced()
        ]
        if problems:
            listed = "；".join(f"{m.id} {m.msg}" for m in problems[:5])
            text = _("Django 部署检查发现 %(n)s 个问题：%(list)s") % {
                "n": len(problems),
                "list": listed,
            }
            found = [
                Finding("production", title, Status.WARNING, text, {"problems": len(problems)})
            ]
        else:
            found = [Finding("production", title, Status.OK, _("部署检查全部通过"))]
    if settings.CREDITPLUS_TLS_CERT_FILE:
        found.append(certificate(Path(settings.CREDITPLUS_TLS_CERT_FILE), now))
    return found


def certificate(path: Path, now: datetime) -> Finding:
    from cryptography import x509

    title = _("TLS 证书")
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        text = _("无法读取证书 %(path)s：%(err)s") % {"path": path, "err": exc}
        return Finding("certificate", title, Status.ERROR, text)
    ends = cert.not_valid_after_utc
    days = (ends - now).days
    figures = {"not_after": ends.isoformat(), "days_left": days}
    when = ends.strftime("%Y-%m-%d")
    if days < 0:
        text = _("证书已于 %(when)s 过期：请立即更换") % {"when": when}
        return Finding("certificate", title, Status.ERROR, text, figures)
    text = _("证书有效期至 %(when)s（还有 %(days)s 天）") % {"when": when, "days": days}
    status = Status.WARNING if days < CERT_WARN_DAYS else Status.OK
    if status == Status.WARNING:
        text += _("：请尽快续期")
    return Finding("certificate", title, status, text, figures)
