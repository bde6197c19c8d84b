from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department, validate_uscc
from creditplus.catalog.choices import BehaviorKind, Severity
from creditplus.catalog.models import BehaviorRule, CatalogItem, ReferenceModel
from creditplus.records.choices import (
    BatchSource,
    BatchStatus,
    EventStatus,
    JobStatus,
    RecordStatus,
)
from creditplus.subjects.models import Subject


class IngestBatch(models.Model):
    """One submission of rows for one catalog item by one department (归集批次).

    Invariant: ``submitted == accepted + updated + unchanged + rejected``. The batch and all
    its rows are written in one transaction, so a batch exists only complete.
    """

    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="batches"
    )
    item = models.ForeignKey(
        CatalogItem, verbose_name=_("信息事项"), on_delete=models.PROTECT, related_name="batches"
    )
    source = models.CharField(_("来源"), max_length=8, choices=BatchSource.choices)
    external_id = models.CharField(_("部门批次号"), max_length=64, blank=True)
    file_name = models.CharField(_("文件名"), max_length=255, blank=True)
    file_sha256 = models.CharField(_("文件摘要"), max_length=64, blank=True)
    file_format = models.CharField(_("格式"), max_length=16, blank=True)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=BatchStatus.choices)
    error_code = models.CharField(_("错误代码"), max_length=48, blank=True)
    error_message = models.CharField(_("错误说明"), max_length=500, blank=True)
    submitted = models.PositiveIntegerField(_("提交"), default=0)
    accepted = models.PositiveIntegerField(_("新增"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    unchanged = models.PositiveIntegerField(_("未变"), default=0)
    rejected = models.PositiveIntegerField(_("拒收"), default=0)
    stats = models.JSONField(_("质量统计"), default=dict, blank=True)
    created_by = models.CharField(_("提交人"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True, db_index=True)
    seconds = models.FloatField(_("耗时（秒）"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("归集批次")
        verbose_name_plural = _("归集批次")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "external_id"],
                condition=~models.Q(external_id=""),
                name="unique_department_batch_id",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    submitted=models.F("accepted")
                    + models.F("updated")
                    + models.F("unchanged")
                    + models.F("rejected")
                ),
                name="batch_counts_reconcile",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.item.code} {self.department.code}"

    def counts(self) -> dict[str, int]:
        return {
            "batch": self.pk,
            "submitted": self.submitted,
            "accepted": self.accepted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


class RowError(models.Model):
    """Why one submitted row was rejected; ``raw`` keeps the row as submitted for the fix."""

    batch = models.ForeignKey(
        IngestBatch, verbose_name=_("批次"), on_delete=models.CASCADE, related_name="errors"
    )
    row_no = models.PositiveIntegerField(_("数据行号"))
    field = models.CharField(_("字段"), max_length=64, blank=True)
    code = models.CharField(_("错误代码"), max_length=48, db_index=True)
    message = models.CharField(_("错误说明"), max_length=500)
    raw = models.TextField(_("原始数据"), blank=True)

    class Meta:
        ordering = ["batch", "row_no", "id"]
        verbose_name = _("错误行")
        verbose_name_plural = _("错误行")

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_no} {self.code}"


class CreditRecordQuerySet(models.QuerySet):
    def current(self) -> CreditRecordQuerySet:
        """The latest version of each record that has not been retracted."""
        return self.filter(is_current=True, status=RecordStatus.ACTIVE)


class CreditRecord(models.Model):
    """One record of a catalog item about a subject (信用信息). Never overwritten: a changed
    row under the same natural key becomes a new version and the old one is kept.

    Records and events are written only by the ingest service, in the transaction that
    creates or looks up every row they refer to; their foreign keys carry no database
    constraint because per-row referential checks cost more than the bulk insert itself
    (measured: PostgreSQL COPY and SQLite executemany of 120,000 rows).
    """

    item = models.ForeignKey(
        CatalogItem,
        verbose_name=_("信息事项"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="records",
        db_index=False,  # covered by record_item_date
    )
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("信用主体"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="records",
        db_index=False,  # covered by record_subject_item
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("提供部门"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="records",
        db_index=False,  # every index costs ingest speed; department views go through batches
    )
    batch = models.ForeignKey(
        IngestBatch,
        verbose_name=_("批次"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="records",
        db_index=False,  # ingest never reads records back by batch: one index less to write
    )
    row_no = models.PositiveIntegerField(_("数据行号"))
    natural_key = models.CharField(_("业务主键"), max_length=255)
    version = models.PositiveIntegerField(_("版本"), default=1)
    is_current = models.BooleanField(_("当前版本"), default=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=RecordStatus.choices, default=RecordStatus.ACTIVE
    )
    subject_name = models.CharField(_("行政相对人名称"), max_length=200)
    decision_date = models.DateField(_("决定日期"), null=True, blank=True)
    end_date = models.DateField(_("截止日期"), null=True, blank=True)
    category = models.CharField(_("类别"), max_length=200, blank=True)
    amount = models.DecimalField(
        _("金额（万元）"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    flags = models.CharField(_("标记"), max_length=200, blank=True)
    data = models.TextField(_("数据（JSON）"))
    received_at = models.DateTimeField(_("归集时间"))

    objects = CreditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("信用信息")
        verbose_name_plural = _("信用信息")
        indexes = [
            models.Index(fields=["subject", "item"], name="record_subject_item"),
            models.Index(fields=["item", "decision_date"], name="record_item_date"),
            # A period's receipts (双公示 timeliness in government integrity). Receipt times
            # only grow, so ingest appends at the end of each item's range: nearly free.
            models.Index(fields=["item", "received_at"], name="record_item_received"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "natural_key"],
                condition=models.Q(is_current=True),
                name="one_current_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.code} {self.natural_key} v{self.version}"

    @property
    def values(self) -> dict[str, Any]:
        return json.loads(self.data)


class WriterTransaction(models.Func):
    """Database default of ``CreditEvent.tx``: the id of the transaction that inserts the row
    (PostgreSQL's 64-bit xid, which never wraps around); 0 on SQLite, whose writers are
    serialised, so that there ids already follow commit order."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return "0", []

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return "(pg_current_xact_id()::text::bigint)", []


class CreditEvent(models.Model):
    """A behavior event (信用行为): a record classified by the behavior list, with the
    publicity dates that follow from the rule. Written in the record's transaction."""

    record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("信用信息"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="events",
    )
    subject = models.ForeignKey(
        Subject,
        verbose_name=_("信用主体"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="events",
        db_index=False,  # covered by event_subject_kind
    )
    rule = models.ForeignKey(
        BehaviorRule,
        verbose_name=_("行为规则"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="events",
        db_index=False,
    )
    kind = models.CharField(_("行为性质"), max_length=16, choices=BehaviorKind.choices)
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices)
    occurred_on = models.DateField(_("发生日期"))
    published = models.BooleanField(_("公示"))
    publish_min_until = models.DateField(_("最短公示期至"), null=True, blank=True)
    publish_until = models.DateField(_("最长公示期至"), null=True, blank=True)
    restoration_from = models.DateField(_("可申请修复日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=EventStatus.choices, default=EventStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("创建时间"))
    # Consumers read events in (tx, id) order and only below the oldest running writer
    # (records/consumers.py): ids are taken mid-transaction, so id order is not commit order.
    tx = models.BigIntegerField(_("写入事务"), db_default=WriterTransaction(), editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("信用行为")
        verbose_name_plural = _("信用行为")
        indexes = [
            # Covering for the list triggers' counts (lists.events): a subject's events of a
            # kind, in force, of a severity, in a period are counted from the index alone.
            # The name stays: bulk loads defer this index by name (records.bulkload).
            models.Index(
                fields=["subject", "kind", "status", "severity", "occurred_on"],
                name="event_subject_kind",
            ),
            models.Index(fields=["tx", "id"], name="event_tx_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_severity_display()} {self.subject_id}"

    def in_publicity(self, today: date) -> bool:
        return (
            self.published
            and self.status == EventStatus.ACTIVE
            and (self.publish_until is None or today <= self.publish_until)
        )


class ConsumerCursor(models.Model):
    """How far a consumer (lists, evaluation, monitoring…) has read the CreditEvent stream."""

    name = models.CharField(_("消费者"), max_length=64, unique=True)
    last_tx = models.BigIntegerField(_("已处理到事务"), default=0)
    last_event_id = models.BigIntegerField(_("已处理到"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("事件消费进度")
        verbose_name_plural = _("事件消费进度")

    def __str__(self) -> str:
        return f"{self.name}@{self.last_tx}/{self.last_event_id}"


class UploadJob(models.Model):
    """A file uploaded on the page or the API, ingested in the background by the task worker
    (``creditplus db_worker``). The file waits under ``VAR_DIR/uploads/jobs/`` until then.
    Uploads from the page that would replace many current records stop at ``confirm`` with
    a preview until the officer confirms."""

    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="upload_jobs"
    )
    item = models.ForeignKey(
        CatalogItem, verbose_name=_("信息事项"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("来源"), max_length=8, choices=BatchSource.choices)
    file_name = models.CharField(_("文件名"), max_length=255, blank=True)
    size = models.BigIntegerField(_("文件大小"))
    path = models.CharField(_("暂存文件"), max_length=300)
    external_id = models.CharField(_("部门批次号"), max_length=64, blank=True)
    created_by = models.CharField(_("提交人"), max_length=150)
    # Who acted (accounts.audit.AuditContext as a dict): the worker writes audit rows as them.
    context = models.JSONField(_("操作上下文"), default=dict)
    status = models.CharField(
        _("状态"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    ask_confirmation = models.BooleanField(_("大量替换时先预览"), default=False)
    preview = models.JSONField(_("预览"), null=True, blank=True)
    confirmed_by = models.CharField(_("确认人"), max_length=150, blank=True)
    batch = models.OneToOneField(
        IngestBatch,
        verbose_name=_("归集批次"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="job",
    )
    error_code = models.CharField(_("错误代码"), max_length=40, blank=True)
    error_message = models.CharField(_("错误信息"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("报送任务")
        verbose_name_plural = _("报送任务")

    def __str__(self) -> str:
        return f"{self.item_id} {self.file_name} {self.status}"


class ReportingAuthority(ReferenceModel):
    """An authority whose decisions a department may submit besides its own (an enforcement
    brigade of its own, the district office of a municipal authority…): data, so that who may
    report what is visible and editable, not buried in code (``reporting_authorities.yaml``)."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("报送部门"),
        on_delete=models.CASCADE,
        related_name="reporting_authorities",
    )
    uscc = models.CharField(_("机关统一社会信用代码"), max_length=18, validators=[validate_uscc])
    name = models.CharField(_("机关名称"), max_length=128)

    class Meta:
        ordering = ["department", "uscc"]
        verbose_name = _("可代为报送的机关")
        verbose_name_plural = _("可代为报送的机关")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "uscc"], name="unique_reporting_authority"
            )
        ]

    def __str__(self) -> str:
        return f"{self.department} → {self.name}"

    @classmethod
    def usccs_for(cls, department: Department) -> list[str]:
        return list(cls.objects.filter(department=department).values_list("uscc", flat=True))


class DeferredIndex(models.Model):
    """A secondary index of records or events that a bulk load dropped, to build it once after
    its rows are in (``records.bulkload``). Written in the transaction that drops the index,
    so that a load killed at any point leaves the definition here and the next load (or
    ``creditplus load --restore-indexes``) builds it again."""

    name = models.CharField(_("索引"), max_length=63, unique=True)
    table = models.CharField(_("数据表"), max_length=63)
    definition = models.TextField(_("定义（SQL）"))
    dropped_at = models.DateTimeField(_("删除时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("待重建索引")
        verbose_name_plural = _("待重建索引")

    def __str__(self) -> str:
        return f"{self.table}.{self.name}"
