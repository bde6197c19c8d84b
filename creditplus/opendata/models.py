from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.opendata.choices import PublicationStatus


class PublishedItem(models.Model):
    """What the open data files last said about one item (a 双公示 record or a list entry),
    so that the next publication can tell what was added, changed or removed since.

    Written only by :func:`creditplus.opendata.services.publish`, in bulk. The ``prev_*``
    columns keep the item's state before the latest publication touched it: re-running the
    latest date starts again from that state, so a re-run gives the same files."""

    dataset = models.CharField(_("数据集"), max_length=16)
    key = models.CharField(_("数据标识"), max_length=300)
    digest = models.CharField(_("内容摘要"), max_length=32)
    first_seen = models.DateField(_("首次发布日期"))
    last_changed = models.DateField(_("最近变更日期"))
    removed_on = models.DateField(_("移出日期"), null=True, blank=True)
    prev_digest = models.CharField(max_length=32, blank=True)
    prev_last_changed = models.DateField(null=True, blank=True)
    prev_removed_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("开放数据条目")
        verbose_name_plural = _("开放数据条目")
        constraints = [
            models.UniqueConstraint(fields=["dataset", "key"], name="opendata_one_item_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.key}"


class PublicationQuerySet(models.QuerySet):
    def done(self) -> PublicationQuerySet:
        return self.filter(status=PublicationStatus.DONE)


class Publication(models.Model):
    """One day's open data files (数据开放发布): full snapshots, deltas and the manifest."""

    date = models.DateField(_("数据日期"), unique=True)
    previous = models.DateField(_("上一期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=PublicationStatus.choices)
    counts = models.JSONField(
        _("条数"), default=dict, help_text=_("{数据集: {rows, added, changed, removed}}")
    )
    files = models.JSONField(
        _("文件"),
        default=list,
        help_text=_("[{name, dataset, kind, format, rows, bytes, sha256}]，与 manifest.json 一致"),
    )
    generated_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    error = models.TextField(_("错误"), blank=True)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-date"]
        verbose_name = _("数据开放发布")
        verbose_name_plural = _("数据开放发布")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}"

    def file(self, name: str) -> dict[str, Any] | None:
        """The manifest entry of the file called ``name``, or None if it has no such file."""
        return next((f for f in self.files if f["name"] == name), None)

    def files_of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.files if f["kind"] == kind]
