from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.catalog.models import ReferenceModel
from creditplus.evaluation.choices import Grade, ModelStatus, RunMode
from creditplus.subjects.models import Subject


class EvaluationModelQuerySet(models.QuerySet):
    def active(self) -> EvaluationModel | None:
        """The model that checks and supervision use (at most one is active)."""
        return self.filter(status=ModelStatus.ACTIVE).first()


class EvaluationModel(ReferenceModel):
    """A version of the evaluation model (评价模型): dimensions, indicators, points, grade
    thresholds and overrides as data (``definition``, loaded from a versioned file).

    Invariant: at most one model is active; a model's definition does not change once it has
    been evaluated (a new version gets a new code), so stored scores stay explainable."""

    code = models.CharField(_("模型版本"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    definition = models.JSONField(_("模型定义"))
    status = models.CharField(
        _("状态"), max_length=8, choices=ModelStatus.choices, default=ModelStatus.DRAFT
    )
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    activated_by = models.CharField(_("启用人"), max_length=150, blank=True)

    objects = EvaluationModelQuerySet.as_manager()

    class Meta:
        ordering = ["-status", "code"]
        verbose_name = _("评价模型")
        verbose_name_plural = _("评价模型")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="one_active_evaluation_model",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EvaluationRun(models.Model):
    """One evaluation run: which subjects, as of which date, how long each phase took."""

    model = models.ForeignKey(
        EvaluationModel, verbose_name=_("评价模型"), on_delete=models.PROTECT, related_name="runs"
    )
    mode = models.CharField(_("方式"), max_length=8, choices=RunMode.choices)
    as_of = models.DateField(_("评价基准日"))
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    evaluated = models.PositiveIntegerField(_("评价主体数"), default=0)
    grade_changes = models.PositiveIntegerField(_("等级变化数"), default=0)
    grades = models.JSONField(_("等级分布"), default=dict)
    phases = models.JSONField(_("各阶段耗时（秒）"), default=dict)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    created_by = models.CharField(_("执行人"), max_length=150, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("评价批次")
        verbose_name_plural = _("评价批次")

    def __str__(self) -> str:
        return f"{self.model.code} {self.get_mode_display()} {self.as_of}"


class Score(models.Model):
    """A subject's current score and grade under one model version, with the per-indicator
    contributions it was computed from (``[[indicator, n, points], …]``). Written in bulk."""

    subject = models.ForeignKey(
        Subject,
        verbose_name=_("信用主体"),
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="scores",
        db_index=False,  # covered by score_model_subject
    )
    model = models.ForeignKey(
        EvaluationModel, verbose_name=_("评价模型"), on_delete=models.CASCADE, db_index=False
    )
    run = models.ForeignKey(
        EvaluationRun,
        verbose_name=_("评价批次"),
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
    )
    score = models.SmallIntegerField(_("评分"))
    grade = models.CharField(_("等级"), max_length=1, choices=Grade.choices)
    base_grade = models.CharField(_("按分数等级"), max_length=1, choices=Grade.choices)
    overrides = models.CharField(_("等级调整"), max_length=100, blank=True)
    contributions = models.TextField(_("指标得分（JSON）"), default="[]")
    as_of = models.DateField(_("评价基准日"))

    class Meta:
        verbose_name = _("信用评分")
        verbose_name_plural = _("信用评分")
        constraints = [
            models.UniqueConstraint(fields=["model", "subject"], name="score_model_subject"),
        ]
        indexes = [models.Index(fields=["model", "grade"], name="score_model_grade")]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.score} {self.grade}"

    @property
    def contribution_list(self) -> list[tuple[str, float, int]]:
        return [tuple(c) for c in json.loads(self.contributions)]  # type: ignore[misc]

    @property
    def override_codes(self) -> list[str]:
        return [c for c in self.overrides.split(",") if c]


class ScoreHistory(models.Model):
    """A subject's score whenever it changed, per model version (for the history chart)."""

    subject = models.ForeignKey(
        Subject,
        verbose_name=_("信用主体"),
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # covered by history_subject_model
    )
    model = models.ForeignKey(
        EvaluationModel, verbose_name=_("评价模型"), on_delete=models.CASCADE, db_index=False
    )
    run = models.ForeignKey(
        EvaluationRun,
        verbose_name=_("评价批次"),
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
    )
    score = models.SmallIntegerField(_("评分"))
    grade = models.CharField(_("等级"), max_length=1, choices=Grade.choices)
    as_of = models.DateField(_("评价基准日"))

    class Meta:
        ordering = ["as_of", "id"]
        verbose_name = _("评分历史")
        verbose_name_plural = _("评分历史")
        indexes = [models.Index(fields=["subject", "model", "as_of"], name="history_subject_model")]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.as_of} {self.score} {self.grade}"


def run_summary(run: EvaluationRun) -> dict[str, Any]:
    """The ``--json`` line of ``creditplus evaluate``."""
    return {
        "evaluated": run.evaluated,
        "grades": {g: int(run.grades.get(g, 0)) for g in ("A", "B", "C", "D")},
        "seconds": round(run.seconds, 2),
    }
