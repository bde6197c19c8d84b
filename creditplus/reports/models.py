"""Credit reports (信用报告) and the natural persons' written authorizations (个人授权)
they require. A report is a frozen snapshot: its content is stored as JSON with its
SHA-256 digest, and HTML and PDF are always rendered from that snapshot."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.reports.choices import Authorizer, IdVerification, ReportChannel, ReportKind
from creditplus.subjects.models import Subject


def authorization_path(instance: PersonalAuthorization, filename: str) -> str:
    # Private files (MEDIA_ROOT is never served publicly): named by digest, not by the person.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"authorizations/{instance.recorded_at:%Y/%m}/{instance.file_sha256[:24]}.{suffix}"


class PersonalAuthorizationQuerySet(models.QuerySet):
    def valid_on(self, day) -> PersonalAuthorizationQuerySet:
        """Authorizations that still allow a report on ``day``."""
        return self.filter(valid_until__gte=day)


class PersonalAuthorization(models.Model):
    """A natural person's written authorization (书面授权书), or an agent's power of attorney
    (授权委托书), recorded at a query window after the clerk verified identity. No personal
    report is issued without one that is valid and names the same person."""

    subject = models.ForeignKey(
        Subject,
        verbose_name=_("被查询人"),
        on_delete=models.PROTECT,
        related_name="report_authorizations",
    )
    id_verification = models.CharField(
        _("身份核验方式"), max_length=20, choices=IdVerification.choices
    )
    authorizer = models.CharField(_("办理人"), max_length=8, choices=Authorizer.choices)
    agent_name = models.CharField(_("代理人姓名"), max_length=50, blank=True)
    agent_id_cipher = models.TextField(_("代理人证件号码（加密）"), blank=True, editable=False)
    agent_id_masked = models.CharField(_("代理人证件号码"), max_length=32, blank=True)
    file = models.FileField(_("授权书文件"), upload_to=authorization_path, max_length=255)
    file_name = models.CharField(_("文件名"), max_length=200)
    file_size = models.PositiveIntegerField(_("大小（字节）"))
    file_sha256 = models.CharField(_("SHA-256"), max_length=64)
    purpose = models.CharField(_("查询用途"), max_length=500)
    valid_until = models.DateField(_("授权有效期至"))
    department = models.ForeignKey(
        Department,
        verbose_name=_("受理窗口所属部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_by_name = models.CharField(_("经办人姓名"), max_length=150)
    recorded_at = models.DateTimeField(_("登记时间"))

    objects = PersonalAuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("个人授权")
        verbose_name_plural = _("个人授权")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(authorizer="agent")
                | (~models.Q(agent_name="") & ~models.Q(agent_id_cipher="")),
                name="authorization_agent_identified",
            )
        ]

    def __str__(self) -> str:
        return f"SQ{self.pk:08d} {self.subject.public_name}"

    @property
    def number(self) -> str:
        return f"SQ{self.pk:08d}"


class CreditReport(models.Model):
    """A numbered, verifiable public credit report (公共信用信息报告).

    The verification code is never stored: it is an HMAC of the report's number, content
    digest and issue time under a server key (``reports.services.verification_code``), so
    nobody without the key can produce a code that verifies, and changing the stored
    content breaks the code too."""

    number = models.CharField(_("报告编号"), max_length=24, unique=True)
    kind = models.CharField(_("报告类型"), max_length=12, choices=ReportKind.choices)
    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="reports"
    )
    subject_label = models.CharField(
        _("主体（核验显示）"),
        max_length=200,
        help_text=_("核验页面显示的主体名称：组织为全称，自然人为遮蔽后的姓名"),
    )
    channel = models.CharField(_("查询渠道"), max_length=8, choices=ReportChannel.choices)
    purpose = models.CharField(_("查询用途"), max_length=500)
    license_checked = models.BooleanField(_("已核验营业执照"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请/经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_by_name = models.CharField(_("申请/经办人姓名"), max_length=150)
    department = models.ForeignKey(
        Department,
        verbose_name=_("出具窗口所属部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    issuer = models.CharField(_("出具窗口"), max_length=200)
    authorization = models.ForeignKey(
        PersonalAuthorization,
        verbose_name=_("个人授权"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    content = models.JSONField(_("报告内容"))
    content_sha256 = models.CharField(_("内容摘要（SHA-256）"), max_length=64)
    issued_at = models.DateTimeField(_("出具时间"), db_index=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("信用报告")
        verbose_name_plural = _("信用报告")
        constraints = [
            # The rule the whole personal-report flow exists for, enforced by the database.
            models.CheckConstraint(
                condition=~models.Q(kind="personal") | models.Q(authorization__isnull=False),
                name="personal_report_needs_authorization",
            )
        ]
        indexes = [models.Index(fields=["subject", "issued_at"], name="report_subject_issued")]

    def __str__(self) -> str:
        return f"{self.number} {self.subject_label}"

    @property
    def is_personal(self) -> bool:
        return self.kind == ReportKind.PERSONAL
