"""信用张江: questionnaires (as reference data), enterprise self-assessments and other
organisations' assessments (自评及他评) with their answers and evidence files, and tech
finance (科技金融对接): outside institutions and their users, the enterprise's time- and
purpose-limited grants of access to its credit report, the log of every access, and the
enterprise's opt-in to financing matchmaking."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import validate_uscc
from creditplus.assessments.choices import (
    AccessAction,
    AssessmentKind,
    AssessmentStatus,
    InstitutionKind,
)
from creditplus.reports.models import CreditReport
from creditplus.subjects.models import Subject


class Questionnaire(models.Model):
    """A versioned questionnaire template (``questionnaires.yaml``): sections of questions,
    each ``{code, text, type, options?, tolerance?, conflict?}``."""

    code = models.CharField(_("问卷编码"), max_length=32, unique=True)
    name = models.CharField(_("问卷名称"), max_length=200)
    sections = models.JSONField(_("问卷内容"), default=list)
    is_active = models.BooleanField(_("启用"), default=True)
    source_version = models.PositiveIntegerField(_("参考数据版本"), default=0, editable=False)

    class Meta:
        ordering = ["-is_active", "-code"]
        verbose_name = _("信用问卷")
        verbose_name_plural = _("信用问卷")

    def __str__(self) -> str:
        return self.name

    def questions(self) -> list[dict[str, Any]]:
        """All questions in order, each with its section's code and name."""
        return [
            {**q, "section": s["code"], "section_name": s["name"]}
            for s in self.sections
            for q in s["questions"]
        ]

    def question_map(self) -> dict[str, dict[str, Any]]:
        return {q["code"]: q for q in self.questions()}


class Institution(models.Model):
    """An outside organisation that uses the platform: a bank (receives report grants,
    assesses its borrowers), park management, a partner or an industry association."""

    name = models.CharField(_("机构名称"), max_length=100, unique=True)
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    kind = models.CharField(_("机构类型"), max_length=16, choices=InstitutionKind.choices)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("合作机构")
        verbose_name_plural = _("合作机构")

    def __str__(self) -> str:
        return self.name


class InstitutionMember(models.Model):
    """A user acting for one institution (a bank's loan officer, an association's assessor)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="institution_membership",
    )
    institution = models.ForeignKey(
        Institution, verbose_name=_("机构"), on_delete=models.PROTECT, related_name="members"
    )

    class Meta:
        verbose_name = _("机构用户")
        verbose_name_plural = _("机构用户")

    def __str__(self) -> str:
        return f"{self.user} → {self.institution}"


def evidence_path(instance: Answer, filename: str) -> str:
    # Private files (MEDIA_ROOT is never served publicly): named by digest, not by the company.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"assessments/evidence/{timezone.localdate():%Y/%m}/{instance.evidence_sha256[:24]}.{suffix}"


class AssessmentQuerySet(models.QuerySet):
    def current(self) -> AssessmentQuerySet:
        return self.filter(status=AssessmentStatus.SUBMITTED)


class Assessment(models.Model):
    """One filled questionnaire about an enterprise: by the enterprise itself (自评) or by an
    outside institution (他评). A newer one by the same assessor supersedes the older."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("被评企业"), on_delete=models.PROTECT, related_name="assessments"
    )
    questionnaire = models.ForeignKey(
        Questionnaire, verbose_name=_("问卷"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("评价类型"), max_length=8, choices=AssessmentKind.choices)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("评价机构"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessments",
    )
    assessor_name = models.CharField(_("评价主体"), max_length=200)
    assessor_kind = models.CharField(
        _("评价主体类型"), max_length=16, choices=InstitutionKind.choices, blank=True
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_by_name = models.CharField(_("填报人姓名"), max_length=150)
    submitted_at = models.DateTimeField(_("提交时间"), db_index=True)
    status = models.CharField(
        _("状态"),
        max_length=12,
        choices=AssessmentStatus.choices,
        default=AssessmentStatus.SUBMITTED,
    )
    comment = models.TextField(_("总体评语"), blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("信用自评/他评")
        verbose_name_plural = _("信用自评/他评")
        constraints = [
            # A self-assessment has no institution; an other-assessment always names one.
            models.CheckConstraint(
                condition=models.Q(kind="self", institution__isnull=True)
                | models.Q(kind="other", institution__isnull=False),
                name="assessment_assessor_matches_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject.name}"

    @property
    def number(self) -> str:
        return f"PJ{self.pk:08d}"


class Answer(models.Model):
    """One answer (the value as text: "yes"/"no", an option, a number, free text), with an
    optional evidence file kept privately and served only through permission-checked views."""

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("评价"), on_delete=models.CASCADE, related_name="answers"
    )
    question = models.CharField(_("题目编码"), max_length=16)
    value = models.CharField(_("回答"), max_length=1000, blank=True)
    evidence = models.FileField(_("证明材料"), upload_to=evidence_path, max_length=255, blank=True)
    evidence_name = models.CharField(_("文件名"), max_length=200, blank=True)
    evidence_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)

    class Meta:
        ordering = ["assessment", "id"]
        verbose_name = _("回答")
        verbose_name_plural = _("回答")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "question"], name="answer_once")
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.value}"


class FinancingProfile(models.Model):
    """An enterprise's opt-in to financing matchmaking (融资对接): while opted in, it appears
    in the list banks browse (name, industry, grade and its stated need — never its report,
    which needs a grant)."""

    subject = models.OneToOneField(
        Subject, verbose_name=_("企业"), on_delete=models.CASCADE, related_name="financing"
    )
    opted_in = models.BooleanField(_("参与融资对接"), default=False)
    need = models.CharField(_("融资需求"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("融资对接意向")
        verbose_name_plural = _("融资对接意向")
        permissions = [("view_matchmaking", _("查看融资对接企业名单"))]

    def __str__(self) -> str:
        return f"{self.subject.name} {'✓' if self.opted_in else '—'}"


class GrantQuerySet(models.QuerySet):
    def in_force(self, day: date) -> GrantQuerySet:
        """Grants that allow access on ``day``: not revoked, inside their validity."""
        return self.filter(revoked_at__isnull=True, valid_from__lte=day, valid_until__gte=day)


class Grant(models.Model):
    """An enterprise's authorization (授权) for one financial institution to read its credit
    report, for a stated purpose and from ``valid_from`` to ``valid_until`` inclusive, until
    it expires or the enterprise revokes it."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("授权企业"), on_delete=models.PROTECT, related_name="grants"
    )
    institution = models.ForeignKey(
        Institution, verbose_name=_("被授权机构"), on_delete=models.PROTECT, related_name="grants"
    )
    purpose = models.CharField(_("授权用途"), max_length=300)
    valid_from = models.DateField(_("授权起始日"))
    valid_until = models.DateField(_("授权截止日"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授权人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by_name = models.CharField(_("授权人姓名"), max_length=150)
    created_at = models.DateTimeField(_("授权时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("报告查阅授权")
        verbose_name_plural = _("报告查阅授权")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="grant_valid_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject.name} → {self.institution.name}"

    @property
    def number(self) -> str:
        return f"ZJSQ{self.pk:08d}"

    def state(self, day: date) -> str:
        """ "revoked", "pending", "expired" or "active" on ``day``."""
        if self.revoked_at is not None:
            return "revoked"
        if day < self.valid_from:
            return "pending"
        if day > self.valid_until:
            return "expired"
        return "active"


class GrantAccess(models.Model):
    """One access of an institution's user to a granted report (查阅记录), shown to the
    enterprise. Written in the same transaction as the audit row of the access."""

    grant = models.ForeignKey(
        Grant, verbose_name=_("授权"), on_delete=models.PROTECT, related_name="accesses"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("查阅人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    user_name = models.CharField(_("查阅人姓名"), max_length=150)
    action = models.CharField(_("操作"), max_length=10, choices=AccessAction.choices)
    at = models.DateTimeField(_("查阅时间"), db_index=True)
    report = models.ForeignKey(
        CreditReport,
        verbose_name=_("信用报告"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("报告查阅记录")
        verbose_name_plural = _("报告查阅记录")

    def __str__(self) -> str:
        return f"{self.grant.number} {self.user_name} {self.action} {self.at:%Y-%m-%d %H:%M}"
