from __future__ import annotations

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.catalog.models import Matter, ReferenceModel
from creditplus.lists.models import Restoration
from creditplus.records.models import CreditRecord
from creditplus.subjects.models import Subject
from creditplus.supervision.choices import (
    PROBLEM_RESULTS,
    Channel,
    CommitmentStatus,
    InspectionResult,
    Outcome,
    PlanStatus,
)


class SupervisionField(ReferenceModel):
    """A supervision field (监管领域) and its classification policy: for each grade the
    inspection ratio, routine inspections a year and service lane (kept as data)."""

    code = models.CharField(_("领域编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    department = models.ForeignKey(
        Department, verbose_name=_("牵头部门"), on_delete=models.PROTECT, related_name="+"
    )
    default_grade = models.CharField(_("未评价主体按"), max_length=1, default="B")
    basis = models.CharField(_("依据"), max_length=500, blank=True)
    policy = models.JSONField(
        _("分级监管措施"), help_text=_("{等级: {ratio, per_year, lane, measures}}")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("监管领域")
        verbose_name_plural = _("监管领域")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def rule(self, grade: str) -> dict:
        return self.policy[grade]


class CommitmentTemplate(ReferenceModel):
    """What an applicant promises for a matter and what a breach costs (告知承诺书)."""

    code = models.CharField(_("模板编码"), max_length=32, unique=True)
    matter = models.ForeignKey(
        Matter,
        verbose_name=_("应用事项"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("承诺类型"), max_length=16)
    department = models.ForeignKey(
        Department,
        verbose_name=_("核查部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("空：由作出决定的部门核查（信用修复承诺）"),
    )
    title = models.CharField(_("标题"), max_length=100)
    conditions = models.JSONField(_("承诺内容"), default=list)
    consequences = models.TextField(_("违诺责任"))
    verify_months = models.PositiveSmallIntegerField(_("核查期限（月）"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("信用承诺模板")
        verbose_name_plural = _("信用承诺模板")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Commitment(models.Model):
    """A signed credit commitment (信用承诺) and its verification (核查): the responsible
    department finds it fulfilled or breached by ``verify_due``; the outcome enters the
    collection path as a 信用承诺履行 (CNWY) record (``record``)."""

    number = models.CharField(_("承诺编码"), max_length=20, unique=True)
    template = models.ForeignKey(
        CommitmentTemplate, verbose_name=_("承诺模板"), on_delete=models.PROTECT
    )
    subject = models.ForeignKey(
        Subject, verbose_name=_("承诺人"), on_delete=models.PROTECT, related_name="commitments"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("受理及核查部门"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("签署方式"), max_length=8, choices=Channel.choices)
    reason = models.CharField(_("承诺事由"), max_length=500)
    content = models.TextField(_("承诺内容"))
    consequences = models.TextField(_("违诺责任"))
    signer = models.CharField(_("签署人"), max_length=50)
    signed_on = models.DateField(_("承诺日期"))
    published = models.BooleanField(_("向社会公示"), default=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=CommitmentStatus.choices, default=CommitmentStatus.SIGNED
    )
    verify_due = models.DateField(_("核查期限"))
    outcome = models.CharField(_("履行情况"), max_length=8, choices=Outcome.choices, blank=True)
    unfulfilled = models.TextField(_("未履行的承诺内容"), blank=True)
    liability = models.TextField(_("违诺责任追究"), blank=True)
    verified_on = models.DateField(_("认定日期"), null=True, blank=True)
    verified_by = models.CharField(_("核查人"), max_length=150, blank=True)
    record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("履行信息记录"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    restoration = models.OneToOneField(
        Restoration,
        verbose_name=_("信用修复申请"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commitment",
    )
    reminded_at = models.DateTimeField(_("逾期催办时间"), null=True, blank=True)
    created_by = models.CharField(_("录入人"), max_length=150)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-id"]
        verbose_name = _("信用承诺")
        verbose_name_plural = _("信用承诺")
        indexes = [
            models.Index(fields=["department", "status", "verify_due"], name="commitment_inbox")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    def is_overdue(self, today: date) -> bool:
        return self.status == CommitmentStatus.SIGNED and today > self.verify_due


class InspectionPlan(models.Model):
    """A 双随机 inspection plan: the population (field, filters), the per-grade sampling
    ratios, and the recorded random seed from which the selection of subjects and the pairing
    of inspectors can be reproduced."""

    number = models.CharField(_("抽查计划编号"), max_length=40, unique=True)
    title = models.CharField(_("抽查任务名称"), max_length=200)
    matter = models.CharField(
        _("抽查事项"), max_length=200, blank=True, help_text=_("随机抽查事项清单中的检查事项")
    )
    field = models.ForeignKey(
        SupervisionField, verbose_name=_("监管领域"), on_delete=models.PROTECT, related_name="plans"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("实施部门"), on_delete=models.PROTECT, related_name="+"
    )
    filters = models.JSONField(_("抽查范围"), default=dict, blank=True)
    ratios = models.JSONField(_("各等级抽查比例"))
    seed = models.BigIntegerField(_("随机种子"))
    population = models.PositiveIntegerField(_("抽查范围主体数"), default=0)
    population_digest = models.CharField(_("抽查范围摘要"), max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=PlanStatus.choices)
    created_by = models.CharField(_("创建人"), max_length=150)
    created_at = models.DateTimeField(_("抽取时间"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("双随机抽查计划")
        verbose_name_plural = _("双随机抽查计划")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Inspection(models.Model):
    """One drawn subject of a plan, its two randomly paired inspectors, and the result."""

    plan = models.ForeignKey(
        InspectionPlan,
        verbose_name=_("抽查计划"),
        on_delete=models.CASCADE,
        related_name="inspections",
    )
    subject = models.ForeignKey(
        Subject, verbose_name=_("检查对象"), on_delete=models.PROTECT, related_name="inspections"
    )
    grade = models.CharField(_("抽取时信用等级"), max_length=1)
    inspector_a = models.ForeignKey(
        "accounts.User", verbose_name=_("检查人员甲"), on_delete=models.PROTECT, related_name="+"
    )
    inspector_b = models.ForeignKey(
        "accounts.User", verbose_name=_("检查人员乙"), on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(
        _("检查结果"), max_length=32, choices=InspectionResult.choices, blank=True, default=""
    )
    findings = models.TextField(_("发现问题及处理情况"), blank=True)
    inspected_on = models.DateField(_("检查完成日期"), null=True, blank=True)
    recorded_by = models.CharField(_("录入人"), max_length=150, blank=True)
    # 审核: a recorded result is published (and collected as a record) only once a reviewer
    # of the department, not one of its two inspectors, has approved it.
    reviewed_by = models.CharField(_("审核人"), max_length=150, blank=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)
    record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("检查结果记录"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        ordering = ["plan", "id"]
        verbose_name = _("抽查对象")
        verbose_name_plural = _("抽查对象")
        permissions = [("review_inspection", _("审核检查结果"))]
        constraints = [
            models.UniqueConstraint(fields=["plan", "subject"], name="one_inspection_per_plan"),
            models.CheckConstraint(
                condition=~models.Q(inspector_a=models.F("inspector_b")),
                name="two_different_inspectors",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.number} {self.subject}"

    @property
    def is_problem(self) -> bool:
        return self.result in PROBLEM_RESULTS

    @property
    def awaiting_review(self) -> bool:
        """Recorded by an inspector, not yet approved: not public."""
        return bool(self.result) and self.reviewed_at is None

    def inspected_by(self, user: object) -> bool:
        return getattr(user, "pk", None) in (self.inspector_a_id, self.inspector_b_id)


class InspectorConflict(models.Model):
    """A declared conflict of interest (回避): the inspector is never drawn for the subject."""

    inspector = models.ForeignKey(
        "accounts.User", verbose_name=_("检查人员"), on_delete=models.CASCADE, related_name="+"
    )
    subject = models.ForeignKey(Subject, verbose_name=_("主体"), on_delete=models.CASCADE)
    reason = models.CharField(_("回避事由"), max_length=200)
    created_at = models.DateTimeField(_("申报时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("回避申报")
        verbose_name_plural = _("回避申报")
        constraints = [
            models.UniqueConstraint(
                fields=["inspector", "subject"], name="one_conflict_declaration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.inspector} ↔ {self.subject}"


class PermitRule(ReferenceModel):
    """双告知: business-scope keywords → the permit needed and the licensing department."""

    code = models.CharField(_("规则编码"), max_length=16, unique=True)
    keywords = models.JSONField(_("关键词"), default=list)
    permit = models.CharField(_("须办理的许可"), max_length=200)
    department = models.ForeignKey(
        Department, verbose_name=_("审批监管部门"), on_delete=models.PROTECT, related_name="+"
    )
    window = models.CharField(_("办理地点"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("双告知规则")
        verbose_name_plural = _("双告知规则")

    def __str__(self) -> str:
        return f"{self.code} {self.permit}"


class PermitNotice(models.Model):
    """One 双告知 notice: the department is told of a newly registered subject whose business
    scope needs its permit, and the subject sees which permit to obtain where. The
    department's follow-up closes it."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("市场主体"), on_delete=models.PROTECT, related_name="permit_notices"
    )
    rule = models.ForeignKey(PermitRule, verbose_name=_("规则"), on_delete=models.PROTECT)
    department = models.ForeignKey(
        Department, verbose_name=_("告知部门"), on_delete=models.PROTECT, related_name="+"
    )
    permit = models.CharField(_("须办理的许可"), max_length=200)
    matched = models.CharField(_("命中的经营项目"), max_length=200)
    record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("登记信息"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
    )
    notified_at = models.DateTimeField(_("告知时间"))
    closed_at = models.DateTimeField(_("跟进时间"), null=True, blank=True)
    closed_by = models.CharField(_("跟进人"), max_length=150, blank=True)
    follow_up = models.CharField(_("跟进情况"), max_length=500, blank=True)

    class Meta:
        ordering = ["-notified_at", "id"]
        verbose_name = _("双告知")
        verbose_name_plural = _("双告知")
        constraints = [
            models.UniqueConstraint(fields=["subject", "rule"], name="one_notice_per_permit")
        ]
        indexes = [models.Index(fields=["department", "closed_at"], name="notice_inbox")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.permit}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ScanCursor(models.Model):
    """How far a supervision job has read a stream of rows (e.g. new registration records)."""

    name = models.CharField(_("任务"), max_length=64, unique=True)
    last_id = models.BigIntegerField(_("已处理到"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("处理进度")
        verbose_name_plural = _("处理进度")

    def __str__(self) -> str:
        return f"{self.name}@{self.last_id}"
