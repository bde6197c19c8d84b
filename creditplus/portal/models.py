from __future__ import annotations

from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class HomeStatistics(models.Model):
    """The public home page's figures as last computed by ``creditplus portal_statistics``
    (cron, every 10 minutes). Stored, not computed per request: counting the 双公示 records
    in publicity reads millions of rows (minutes at Pudong scale), and every server process
    reads the same row. One row (pk 1), replaced on each run."""

    computed_at = models.DateTimeField(_("统计时间"))
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    figures = models.JSONField(_("统计数据"), encoder=DjangoJSONEncoder)
    # The start of the run whose subject changes the publicity tally includes (None: the
    # tally was never built, the next run counts everything once).
    changes_read_at = models.DateTimeField(_("已读取变更至"), null=True, blank=True)

    class Meta:
        verbose_name = _("首页统计")
        verbose_name_plural = _("首页统计")

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M}"

    def as_figures(self) -> dict[str, Any]:
        """The figures with their dates as dates again (JSON stored them as text)."""
        figures = {**self.figures, "computed_at": self.computed_at}
        grades = figures.get("grades")
        if grades and isinstance(grades.get("as_of"), str):
            figures["grades"] = {**grades, "as_of": date.fromisoformat(grades["as_of"])}
        return figures


class SubjectPublicity(models.Model):
    """One subject's 双公示 records in publicity as last counted: ``{"<item id>|<until>":
    n}`` (``until`` empty: no end date). Kept so that a run recounting a changed subject
    knows what to take off :class:`PublicityTally` before adding the new count."""

    subject = models.OneToOneField(
        "subjects.Subject",
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name=_("信用主体"),
    )
    counts = models.JSONField(_("公示中的记录数"))

    class Meta:
        verbose_name = _("主体公示计数")
        verbose_name_plural = _("主体公示计数")

    def __str__(self) -> str:
        return f"{self.subject_id}: {sum(self.counts.values())}"


class PublicityTally(models.Model):
    """The 双公示 records in publicity over all subjects, by item and last public day: the
    count on a day is one sum over the rows whose ``until`` is that day or later (or none)."""

    item = models.ForeignKey(
        "catalog.CatalogItem",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name=_("信息事项"),
    )
    until = models.DateField(_("公示至"), null=True, blank=True)
    n = models.BigIntegerField(_("记录数"))

    class Meta:
        verbose_name = _("公示记录计数")
        verbose_name_plural = _("公示记录计数")

    def __str__(self) -> str:
        return f"{self.item_id} ≤{self.until}: {self.n}"
