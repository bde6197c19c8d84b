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
    MeasureTrigger,
    Target,
    TaskOrigin,
    TaskStatus,
)
from creditplus.subjects.models import Subject


class MeasureQuerySet(models.QuerySet):
    def in_force(self) -> MeasureQuerySet:
        """Measures district departments apply today (implemented or being implemented)."""
        return self.filter(is_active=True, status__in=IN_FORCE)

    def tasked_on_entry(self) -> MeasureQuerySet:
        """Measures in force whose departments get a task as soon as an entry takes effect:
        standing ones the platform does not apply by itself."""
        return self.in_force().filter(trigger=MeasureTrigger.STANDING, automatic="")

    def covering(self, matter: Matter) -> MeasureQuerySet:
        """Measures that name ``matter`` or the generic matter it belongs to (SPXK → XZXK)."""
        return self.filter(matters__in=matter.lineage_ids()).distinct()


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
    trigger = models.CharField(
        _("实施时机"),
        max_length=16,
        choices=MeasureTrigger.choices,
        default=MeasureTrigger.STANDING,
        help_text=_("常态实施：名单生效即推送任务；办理时核查触发：信用核查命中时才形成任务"),
    )
    automatic = models.CharField(
        _("平台自动实施"),
        max_length=200,
        blank=True,
        help_text=_("常态实施的措施由平台自动实施时的方式（不向部门推送任务）"),
    )
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

    def owed(self) -> SanctionTaskQuerySet:
        """Tasks a department owes (or gave) feedback on, of both kinds: those an entry
        pushed and those a check triggered. Tasks closed without feedback (the entry ended,
        or the measure became on-application) are left out: nobody owed feedback on them."""
        return self.exclude(status=TaskStatus.CLOSED)

    def escalated(self, today: date) -> SanctionTaskQuerySet:
        """Overdue tasks the credit office chases: standing measures only. A check-triggered
        task is answered by the check's report, which the department's own system sends."""
        return self.overdue(today).filter(origin=TaskOrigin.ENTRY)


class SanctionTask(models.Model):
    """实施反馈: one implementing department's task to apply one measure, and its feedback."""

    case = models.ForeignKey(
        SanctionCase, verbose_name=_("奖惩事项"), on_delete=models.PROTECT, related_name="tasks"
    )
    measure = models.ForeignKey(
        Measure, verbose_name=_("措施"), on_delete=models.PROTECT, related_name="tasks"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("实施部门"),
        on_delete=models.PROTECT,
        related_name="tasks",
        db_index=False,  # covered by task_department_status
    )
    target = models.CharField(_("实施对象"), max_length=10, choices=Target.choices)
    origin = models.CharField(
        _("任务来源"), max_length=8, choices=TaskOrigin.choices, default=TaskOrigin.ENTRY
    )
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
        Department,
        verbose_name=_("核查部门"),
        on_delete=models.PROTECT,
        related_name="checks",
        db_index=False,  # check_dept_time leads with it: one index page less per check
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


class Subscription(models.Model):
    """信用预警: a department watches a subject (one by one or from a file of codes)."""

    department = models.ForeignKey(
        Department, verbose_name=_("订阅部门"), on_delete=models.PROTECT, related_name="watches"
    )
    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="watchers"
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("订阅时间"))
    created_by = models.CharField(_("订阅人"), max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("预警订阅")
        verbose_name_plural = _("预警订阅")
        constraints = [
            models.UniqueConstraint(fields=["department", "subject"], name="one_watch_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.department_id}→{self.subject_id}"


class WebhookEndpoint(models.Model):
    """Where a department's alerts are also pushed (HTTPS POST, HMAC-signed)."""

    department = models.OneToOneField(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="webhook"
    )
    url = models.URLField(_("回调地址"), max_length=300)
    secret_cipher = models.TextField(_("签名密钥（加密）"))
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("预警回调")
        verbose_name_plural = _("预警回调")

    def __str__(self) -> str:
        return self.url


class AlertKind(models.TextChoices):
    LIST_ENTERED = "list_entered", _("列入名单")
    LIST_LEFT = "list_left", _("移出名单")
    SERIOUS_RECORD = "serious_record", _("新增严重失信记录")
    GRADE_CHANGED = "grade_changed", _("信用等级变化")


class Alert(models.Model):
    """One alert for one subscribing department; ``digest`` marks those grouped into the
    daily digest instead of being notified one by one."""

    department = models.ForeignKey(
        Department, verbose_name=_("订阅部门"), on_delete=models.PROTECT, related_name="alerts"
    )
    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(_("预警类型"), max_length=16, choices=AlertKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    detail = models.JSONField(_("详情"), default=dict)
    created_at = models.DateTimeField(_("预警时间"))
    digest = models.BooleanField(_("并入每日汇总"), default=False)
    digested_at = models.DateTimeField(_("汇总时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("信用预警")
        verbose_name_plural = _("信用预警")
        indexes = [models.Index(fields=["department", "created_at"], name="alert_dept_time")]

    def __str__(self) -> str:
        return self.title


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("发送失败")


class WebhookDelivery(models.Model):
    """Delivery log of one alert to one endpoint, retried with backoff."""

    alert = models.ForeignKey(
        Alert, verbose_name=_("预警"), on_delete=models.PROTECT, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("回调"), on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    last_status_code = models.PositiveSmallIntegerField(_("响应码"), null=True, blank=True)
    last_error = models.CharField(_("错误"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("回调投递")
        verbose_name_plural = _("回调投递")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.alert_id}→{self.endpoint_id} {self.status}"
