from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.catalog.models import ReferenceModel
from creditplus.integrity.choices import PeriodKind, PeriodStatus, Source

POINTS = [MinValueValidator(0), MaxValueValidator(100)]


class IntegrityIndicator(ReferenceModel):
    """A second-level indicator of the 政务诚信 indicator system, under its first-level
    indicator (透明度 / 执行力 / 廉洁性); loaded from ``integrity_indicators.yaml``."""

    code = models.CharField(_("指标编码"), max_length=16, unique=True)
    name = models.CharField(_("二级指标"), max_length=50)
    level1_code = models.CharField(_("一级指标编码"), max_length=16)
    level1_name = models.CharField(_("一级指标"), max_length=50)
    weight = models.PositiveSmallIntegerField(_("权重"))
    source = models.CharField(_("数据来源"), max_length=10, choices=Source.choices)
    metric = models.CharField(_("计算指标"), max_length=32, blank=True)
    scoring = models.JSONField(_("计分规则"), default=dict, blank=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    advice = models.CharField(_("改进建议模板"), max_length=500, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("政务诚信指标")
        verbose_name_plural = _("政务诚信指标")

    def __str__(self) -> str:
        return f"{self.level1_name} · {self.name}"


class AssessmentPeriod(models.Model):
    """An assessment period (评价周期): a quarter (``2026Q3``) or a year (``2026``)."""

    code = models.CharField(_("周期编码"), max_length=8, unique=True)
    kind = models.CharField(_("周期类型"), max_length=8, choices=PeriodKind.choices)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    status = models.CharField(
        _("状态"), max_length=8, choices=PeriodStatus.choices, default=PeriodStatus.OPEN
    )
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    computed_as_of = models.DateField(_("计算基准日"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering = ["-start", "kind"]
        verbose_name = _("评价周期")
        verbose_name_plural = _("评价周期")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="period_dates"
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_open(self) -> bool:
        return self.status == PeriodStatus.OPEN


class DepartmentScore(models.Model):
    """One computed indicator of one department in one period: the metric's rate, its points
    (null when not applicable) and the underlying figures. Replaced as a whole on recompute."""

    period = models.ForeignKey(
        AssessmentPeriod,
        verbose_name=_("评价周期"),
        on_delete=models.CASCADE,
        related_name="scores",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="+"
    )
    indicator = models.ForeignKey(
        IntegrityIndicator, verbose_name=_("指标"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(
        _("数据来源"), max_length=10, choices=Source.choices, default=Source.COMPUTED
    )
    value = models.FloatField(_("指标值"), null=True, blank=True)
    points = models.DecimalField(
        _("得分"), max_digits=5, decimal_places=2, null=True, blank=True, validators=POINTS
    )
    figures = models.JSONField(_("基础数据"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        ordering = ["period", "department", "indicator"]
        verbose_name = _("部门指标得分")
        verbose_name_plural = _("部门指标得分")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "department", "indicator"], name="one_score_per_indicator"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_id}/{self.department_id}/{self.indicator_id}"


def evidence_path(instance: AssessorScore, filename: str) -> str:
    return f"integrity/{instance.period.code}/{instance.department.code}/{filename}"


class AssessorScore(models.Model):
    """A third-party assessor's score (0–100) of one assessor indicator of one department in
    one period, with its evidence. Entering it again replaces it (audited with the old value)."""

    period = models.ForeignKey(
        AssessmentPeriod,
        verbose_name=_("评价周期"),
        on_delete=models.CASCADE,
        related_name="assessor_scores",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="+"
    )
    indicator = models.ForeignKey(
        IntegrityIndicator, verbose_name=_("指标"), on_delete=models.PROTECT, related_name="+"
    )
    points = models.DecimalField(_("得分"), max_digits=5, decimal_places=2, validators=POINTS)
    evidence = models.TextField(_("评估依据"))
    evidence_file = models.FileField(
        _("证明材料"), upload_to=evidence_path, max_length=300, blank=True
    )
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("评估人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    entered_at = models.DateTimeField(_("录入时间"))

    class Meta:
        ordering = ["period", "department", "indicator"]
        verbose_name = _("第三方评估得分")
        verbose_name_plural = _("第三方评估得分")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "department", "indicator"], name="one_assessor_score"
            ),
            models.CheckConstraint(
                condition=models.Q(points__gte=0) & models.Q(points__lte=100),
                name="assessor_points_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_id}/{self.department_id}/{self.indicator_id}"
