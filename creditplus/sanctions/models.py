from __future__ import annotations

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.catalog.models import Matter, ReferenceModel
from creditplus.lists.models import ListEntry, ListType
from creditplus.sanctions.choices import (
    IN_FORCE,
    CaseOrigin,
    CaseStatus,
    CoordinationLevel,
    MeasureCategory,
    MeasureKind,
    MeasureStatus,
    Target,
    TaskStatus,
)
from creditplus.subjects.models import Subject


class MeasureQuerySet(models.QuerySet):
    def in_force(self) -> MeasureQuerySet:
        """Measures district departments apply today (implemented or being implemented)."""
        return self.filter(is_active=True, status__in=IN_FORCE)


class Measure(ReferenceModel):
    """A joint reward or punishment measure (奖惩措施) of the measure catalog (事项目录)."""

    code = models.CharField(_("措施编码"), max_length=16, unique=True)
    name = models.CharField(_("措施名称"), max_length=200)
    kind = models.CharField(_("类别"), max_length=12, choices=MeasureKind.choices)
    category = models.CharField(_("措施类型"), max_length=16, choices=MeasureCategory.choices)
    list_types = models.ManyToManyField(
        ListType, verbose_name=_("适用名单"), related_name="measures"
    )
    applies_to = models.JSONField(
        _("适用对象"), default=list, help_text=_("subject（主体）/ legal_rep（法定代表人）")
    )
    departments = models.ManyToManyField(
        Department, verbose_name=_("实施部门"), related_name="measures"
    )
    matters = models.ManyToManyField(
        Matter, verbose_name=_("适用事项"), blank=True, related_name="measures"
    )
    status = models.CharField(_("落实状态"), max_length=16, choices=MeasureStatus.choices)
    coordination_level = models.CharField(
        _("协调层级"), max_length=10, choices=CoordinationLevel.choices
    )
    basis = models.TextField(_("法律依据"))
    is_active = models.BooleanField(_("启用"), default=True)

    objects = MeasureQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("奖惩措施")
        verbose_name_plural = _("奖惩措施")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SanctionCase(models.Model):
    """奖惩事项: the measures initiated for one list entry (or by the credit office)."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="cases"
    )
    entry = models.ForeignKey(
        ListEntry,
        verbose_name=_("名单"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    origin = models.CharField(_("发起方式"), max_length=8, choices=CaseOrigin.choices)
    status = models.CharField(
        _("状态"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    reason = models.TextField(_("发起事由"))
    initiated_at = models.DateTimeField(_("发起时间"))
    initiated_by = models.CharField(_("发起人"), max_length=150)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    close_reason = models.CharField(_("结束原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["-initiated_at", "-id"]
        verbose_name = _("奖惩事项")
        verbose_name_plural = _("奖惩事项")
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(status="open"),
                name="one_open_case_per_entry",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"JC{self.pk:08d}"


class SanctionTaskQuerySet(models.QuerySet):
    def pending(self) -> SanctionTaskQuerySet:
        return self.filter(status=TaskStatus.PENDING)

    def overdue(self, today: date) -> SanctionTaskQuerySet:
        return self.filter(status=TaskStatus.PENDING, due_on__lt=today)


class SanctionTask(models.Model):
    """实施反馈: one implementing department's task to apply one measure, and its feedback."""

    case = models.ForeignKey(
        SanctionCase, verbose_name=_("奖惩事项"), on_delete=models.PROTECT, related_name="tasks"
    )
    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="tasks"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("实施部门"), on_delete=models.PROTECT, related_name="tasks"
    )
    target = models.CharField(_("实施对象"), max_length=10, choices=Target.choices)
    target_name = models.CharField(_("对象名称"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING
    )
    created_at = models.DateTimeField(_("推送时间"))
    due_on = models.DateField(_("反馈期限"))
    matter = models.ForeignKey(
        Matter,
        verbose_name=_("实施事项"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    document_no = models.CharField(_("文书号"), max_length=100, blank=True)
    outcome_note = models.TextField(_("反馈说明"), blank=True)
    fed_back_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    fed_back_by = models.CharField(_("反馈人"), max_length=150, blank=True)
    credit_check = models.ForeignKey(
        "CreditCheck",
        verbose_name=_("信用核查"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    reminded_at = models.DateTimeField(_("催办时间"), null=True, blank=True)

    objects = SanctionTaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("实施任务")
        verbose_name_plural = _("实施任务")
        indexes = [
            models.Index(fields=["department", "status"], name="task_department_status"),
            models.Index(fields=["status", "due_on"], name="task_status_due"),
        ]

    def __str__(self) -> str:
        return f"RW{self.pk:08d}"

    @property
    def number(self) -> str:
        return f"RW{self.pk:08d}"


class CreditCheck(models.Model):
    """信用核查: a department's check of a subject for a matter, its answer, and later what
    the department did with it."""

    department = models.ForeignKey(
        Department, verbose_name=_("核查部门"), on_delete=models.PROTECT, related_name="checks"
    )
    actor_name = models.CharField(_("经办"), max_length=150)
    token = models.CharField(_("接口令牌"), max_length=100, blank=True)
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("信用主体"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checks",
        db_constraint=False,
    )
    identifier = models.CharField(_("核查代码"), max_length=32)
    matter = models.ForeignKey(
        Matter, verbose_name=_("办理事项"), on_delete=models.PROTECT, related_name="credit_checks"
    )
    purpose = models.CharField(_("核查用途"), max_length=300)
    batch = models.CharField(_("批量核查批次"), max_length=40, blank=True)
    answer = models.JSONField(_("核查结果"))
    hit = models.BooleanField(_("命中名单"), default=False)
    created_at = models.DateTimeField(_("核查时间"))
    reported_at = models.DateTimeField(_("结果使用反馈时间"), null=True, blank=True)
    report_outcome = models.CharField(_("结果使用情况"), max_length=16, blank=True)
    report_note = models.TextField(_("反馈说明"), blank=True)
    document_no = models.CharField(_("文书号"), max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("信用核查")
        verbose_name_plural = _("信用核查")
        indexes = [models.Index(fields=["department", "created_at"], name="check_dept_time")]

    def __str__(self) -> str:
        return f"HC{self.pk:08d}"

    @property
    def number(self) -> str:
        return f"HC{self.pk:08d}"
