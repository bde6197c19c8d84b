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
