from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.bulk import hot_cursor
from creditplus.catalog.choices import Severity
from creditplus.catalog.models import CatalogItem, ReferenceModel
from creditplus.lists.choices import (
    LIVE_STATUSES,
    MEMBER_STATUSES,
    EndReason,
    EntryOrigin,
    EntryStatus,
    ListKind,
    ListOrigin,
    ObjectionOutcome,
    ObjectionStatus,
    RestorationStatus,
)
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject


class Deadline(ReferenceModel):
    """A time limit in working days (告知期, 异议答复, 修复受理/决定/反馈), kept as data."""

    code = models.CharField(_("期限编码"), max_length=48, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    working_days = models.PositiveSmallIntegerField(_("工作日"))
    basis = models.CharField(_("依据"), max_length=500, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("办理期限")
        verbose_name_plural = _("办理期限")

    def __str__(self) -> str:
        return f"{self.name}（{self.working_days}个工作日）"

    @classmethod
    def days(cls, code: str) -> int:
        # One plain statement: a credit check that creates tasks reads it in its write.
        table = connection.ops.quote_name(cls._meta.db_table)
        with hot_cursor() as cursor:
            cursor.execute(f"SELECT working_days FROM {table} WHERE code = %s", [code])
            row = cursor.fetchone()
        if row is None:
            raise cls.DoesNotExist(f"no time limit {code!r}")
        return row[0]


class ListTypeQuerySet(models.QuerySet):
    def active(self) -> ListTypeQuerySet:
        return self.filter(is_active=True)


class ListType(ReferenceModel):
    """A list (名单): who decides, inclusion criteria, legal basis, periods and publicity.

    District lists are decided here through proposal → notice → decision → publication;
    external lists are decided by their owner and arrive as records of ``source_item``."""

    code = models.CharField(_("名单编码"), max_length=32, unique=True)
    name = models.CharField(_("名单名称"), max_length=100)
    kind = models.CharField(_("名单类别"), max_length=8, choices=ListKind.choices)
    origin = models.CharField(_("来源"), max_length=10, choices=ListOrigin.choices)
    deciding_department = models.ForeignKey(
        Department,
        verbose_name=_("认定部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("为空时由提供失信记录的行业主管部门认定"),
    )
    criteria = models.TextField(_("认定标准"))
    basis = models.TextField(_("认定依据"))
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices, blank=True)
    published = models.BooleanField(_("向社会公示"), default=True)
    default_months = models.PositiveSmallIntegerField(_("默认期限（月）"))
    min_months = models.PositiveSmallIntegerField(_("最短公示期（月）"), default=0)
    restoration_allowed = models.BooleanField(_("可申请信用修复"), default=True)
    subject_kinds = models.JSONField(
        _("适用主体类别"), default=list, help_text=_("legal / individual / person")
    )
    triggers = models.JSONField(
        _("自动提议条件"),
        default=list,
        blank=True,
        help_text=_("[{kind, severity, count, within_months}]，任一条件满足即自动提议"),
    )
    exclude = models.JSONField(
        _("排除条件"), default=list, blank=True, help_text=_("格式同自动提议条件，满足任一则不提议")
    )
    source_item = models.ForeignKey(
        CatalogItem,
        verbose_name=_("来源数据项"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    source_rules = models.JSONField(
        _("来源行为规则"), default=list, blank=True, help_text=_("为空时该数据项的全部记录")
    )
    is_active = models.BooleanField(_("启用"), default=True)

    objects = ListTypeQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("名单类型")
        verbose_name_plural = _("名单类型")

    def __str__(self) -> str:
        return self.name


class ListEntryQuerySet(models.QuerySet):
    def members(self) -> ListEntryQuerySet:
        """Entries in force: decided (认定) and not yet removed."""
        return self.filter(status__in=MEMBER_STATUSES)

    def live(self) -> ListEntryQuerySet:
        return self.filter(status__in=LIVE_STATUSES)

    def public(self) -> ListEntryQuerySet:
        """What the portal shows: published entries of active public list types."""
        return self.filter(
            status=EntryStatus.PUBLISHED, list_type__published=True, list_type__is_active=True
        )


class ListEntry(models.Model):
    """A subject's membership of a list, from proposal to removal (名单主体)."""

    list_type = models.ForeignKey(
        ListType,
        verbose_name=_("名单"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,  # covered by entry_list_subject
    )
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("信用主体"),
        on_delete=models.PROTECT,
        related_name="list_entries",
        db_index=False,  # covered by entry_subject_status
    )
    origin = models.CharField(_("来源"), max_length=10, choices=EntryOrigin.choices)
    status = models.CharField(_("状态"), max_length=10, choices=EntryStatus.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("认定部门"),
        on_delete=models.PROTECT,
        related_name="list_entries",
    )
    reason = models.TextField(_("认定事由"))
    basis = models.TextField(_("认定依据"), blank=True)
    decision_no = models.CharField(_("认定文书号"), max_length=100, blank=True)
    evidence = models.ManyToManyField(
        CreditRecord,
        verbose_name=_("证据记录"),
        blank=True,
        related_name="+",
        through="ListEntryEvidence",
    )
    source_record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("来源记录"),
        on_delete=models.PROTECT,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    source_key = models.CharField(_("来源业务主键"), max_length=255, blank=True)
    proposed_at = models.DateTimeField(_("提议时间"))
    proposed_by = models.CharField(_("提议人"), max_length=150)
    noticed_on = models.DateField(_("告知日期"), null=True, blank=True)
    response_due = models.DateField(_("陈述申辩截止日"), null=True, blank=True)
    decided_on = models.DateField(_("认定日期"), null=True, blank=True)
    published_on = models.DateField(_("公示日期"), null=True, blank=True)
    restoration_from = models.DateField(_("可申请修复日期"), null=True, blank=True)
    publish_until = models.DateField(_("期满日期"), null=True, blank=True)
    ended_on = models.DateField(_("移出日期"), null=True, blank=True)
    end_reason = models.CharField(
        _("移出原因"), max_length=16, choices=EndReason.choices, blank=True
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ListEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("名单主体")
        verbose_name_plural = _("名单主体")
        indexes = [
            models.Index(fields=["subject", "status"], name="entry_subject_status"),
            # Whether a subject is live on a list, from the index alone (the lists consumer
            # asks it of every subject a batch touches): the partial unique index below
            # cannot answer a statement whose statuses are parameters on SQLite.
            models.Index(
                fields=["list_type", "subject", "status", "origin"], name="entry_list_subject"
            ),
            models.Index(fields=["status", "publish_until"], name="entry_status_until"),
        ]
        constraints = [
            # A district list holds a subject at most once at a time; external lists may
            # hold it once per source record (e.g. one court case each).
            models.UniqueConstraint(
                fields=["list_type", "subject"],
                condition=models.Q(status__in=LIVE_STATUSES) & ~models.Q(origin="imported"),
                name="one_live_entry_per_list",
            ),
            models.UniqueConstraint(
                fields=["list_type", "source_key"],
                condition=models.Q(status__in=LIVE_STATUSES, origin="imported"),
                name="one_live_import_per_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.list_type.name}：{self.subject.name}"

    @property
    def is_member(self) -> bool:
        return self.status in MEMBER_STATUSES

    @property
    def document_no(self) -> str:
        """The deciding document's number: the decision's, or for an entry imported from its
        owner's list the source record's document or case number (案号), which leads the
        record's natural key (e.g. ``(2026)沪0115执1234号|…``)."""
        if self.decision_no:
            return self.decision_no
        return self.source_key.split("|", 1)[0] if self.source_key else ""

    @property
    def is_effective(self) -> bool:
        """Measures apply: published, or decided on a list that is never published."""
        return self.status == EntryStatus.PUBLISHED or (
            self.status == EntryStatus.INCLUDED and not self.list_type.published
        )

    @property
    def entry_no(self) -> str:
        return f"MD{self.pk:08d}"

    def restoration_open_on(self, today: date) -> bool:
        return bool(self.restoration_from and today >= self.restoration_from)

    @property
    def expires_before_restoration(self) -> bool:
        """Publicity ends before the minimum period would let a restoration open: nothing to
        apply for, the entry leaves the list when its period ends (shown as 期满移出)."""
        return bool(
            self.list_type.restoration_allowed
            and self.restoration_from is None
            and self.publish_until is not None
        )


class ListEntryEvidence(models.Model):
    """证据记录: a record an entry rests on (the table Django made for ``ListEntry.evidence``).

    The record carries no database constraint, as the records' and events' own references
    do not: the lists consumer writes these links by the hundred thousand (1.5 M after a
    Pudong-scale load), from record ids it read from the events in the same transaction,
    and records are never deleted (a change is a new version). The check, a random read of
    the widest table per link, was 50 s of the consumers' 230 s on SQLite at that scale."""

    listentry = models.ForeignKey(ListEntry, on_delete=models.CASCADE)
    creditrecord = models.ForeignKey(
        CreditRecord, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )

    class Meta:
        db_table = "lists_listentry_evidence"
        unique_together = [("listentry", "creditrecord")]
        verbose_name = _("证据记录")
        verbose_name_plural = _("证据记录")

    def __str__(self) -> str:
        return f"{self.listentry_id} {self.creditrecord_id}"


class ListTransition(models.Model):
    """One step of an entry's timeline (提议、告知、认定、公示、移出…), append-only."""

    entry = models.ForeignKey(
        ListEntry, verbose_name=_("名单主体"), on_delete=models.PROTECT, related_name="timeline"
    )
    action = models.CharField(_("环节"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=10, blank=True)
    to_status = models.CharField(_("新状态"), max_length=10)
    at = models.DateTimeField(_("时间"))
    actor_name = models.CharField(_("经办"), max_length=150)
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("说明"), blank=True)
    document_no = models.CharField(_("文书号"), max_length=100, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("名单流转记录")
        verbose_name_plural = _("名单流转记录")

    def __str__(self) -> str:
        return f"{self.entry_id} {self.action}"


class Objection(models.Model):
    """异议: a subject's challenge of a public record or a list entry."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="objections"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请账号"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    agent_name = models.CharField(_("代理人"), max_length=100, blank=True)
    contact_cipher = models.TextField(_("联系电话（加密）"), blank=True)
    record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("异议信息"),
        on_delete=models.PROTECT,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    entry = models.ForeignKey(
        ListEntry,
        verbose_name=_("异议名单"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="objections",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("办理部门"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("异议理由"))
    requested_changes = models.JSONField(_("申请更正内容"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN
    )
    outcome = models.CharField(
        _("处理结果"), max_length=10, choices=ObjectionOutcome.choices, blank=True
    )
    answer = models.TextField(_("答复意见"), blank=True)
    submitted_at = models.DateTimeField(_("提交时间"))
    due_on = models.DateField(_("答复期限"))
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.CharField(_("答复人"), max_length=150, blank=True)
    escalated_at = models.DateTimeField(_("逾期督办时间"), null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("异议申诉")
        verbose_name_plural = _("异议申诉")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(record__isnull=False) ^ models.Q(entry__isnull=False),
                name="objection_has_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"YY{self.pk:08d}"

    @property
    def number(self) -> str:
        return f"YY{self.pk:08d}"

    def is_overdue(self, today: date) -> bool:
        return self.status == ObjectionStatus.OPEN and today > self.due_on


class Restoration(models.Model):
    """信用修复申请: to end the publication of an untrustworthy record or a list entry."""

    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="restorations"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请账号"),
        on_delete=models.PROTECT,
        related_name="restorations",
    )
    contact_cipher = models.TextField(_("联系电话（加密）"), blank=True)
    event = models.ForeignKey(
        CreditEvent,
        verbose_name=_("失信行为"),
        on_delete=models.PROTECT,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    entry = models.ForeignKey(
        ListEntry,
        verbose_name=_("名单"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="restorations",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("认定部门"), on_delete=models.PROTECT, related_name="+"
    )
    statement = models.TextField(_("整改及履行情况"))
    commitment_text = models.TextField(_("信用承诺"))
    commitment_signed_at = models.DateTimeField(_("承诺签署时间"))
    status = models.CharField(
        _("状态"),
        max_length=12,
        choices=RestorationStatus.choices,
        default=RestorationStatus.SUBMITTED,
    )
    is_complex = models.BooleanField(_("复杂情形（延长办理）"), default=False)
    submitted_at = models.DateTimeField(_("申请时间"))
    accept_due = models.DateField(_("受理期限"))
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    decide_due = models.DateField(_("决定期限"), null=True, blank=True)
    decided_on = models.DateField(_("办结日期"), null=True, blank=True)
    decision_note = models.TextField(_("办理意见"), blank=True)
    handled_by = models.CharField(_("经办人"), max_length=150, blank=True)
    feedback_due = models.DateField(_("平台反馈期限"), null=True, blank=True)
    fed_back_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("信用修复申请")
        verbose_name_plural = _("信用修复申请")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(event__isnull=False) ^ models.Q(entry__isnull=False),
                name="restoration_has_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"XF{self.pk:08d}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.uploaded_at:%Y/%m}/{instance.sha256[:16]}-{filename[-80:]}"


class Attachment(models.Model):
    """Evidence uploaded with an objection or a restoration application. Private: served
    only through a permission-checked view, never from a public media URL."""

    objection = models.ForeignKey(
        Objection,
        verbose_name=_("异议申诉"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
    )
    restoration = models.ForeignKey(
        Restoration,
        verbose_name=_("信用修复申请"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
    )
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=255)
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小（字节）"))
    content_type = models.CharField(_("类型"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.name
