from __future__ import annotations

from datetime import date
from functools import cached_property

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.catalog.choices import BehaviorKind, Disclosure, Severity
from creditplus.catalog.schema import Condition, ItemSpec


class ReferenceModel(models.Model):
    """Loaded from a versioned file; ``source_version`` lets admin edits survive reloads
    until the file's version is raised."""

    source_version = models.PositiveIntegerField(_("来源文件版本"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class CodeTable(ReferenceModel):
    code = models.CharField(_("代码表编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    values = models.JSONField(_("代码值"), default=list, help_text=_("[{code, label}, …]"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("代码表")
        verbose_name_plural = _("代码表")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def lookup(self) -> dict[str, str]:
        """Accepted input (code, label or one of the entry's ``synonyms``) → stored code.

        Synonyms are data beside the code table: the old and other platforms' spellings of
        a value ("有限合伙" for 有限合伙企业), so that extending them needs no code change."""
        result: dict[str, str] = {}
        for entry in self.values:
            for synonym in entry.get("synonyms") or ():
                result[str(synonym)] = str(entry["code"])
            result[str(entry["label"])] = str(entry["code"])
            result[str(entry["code"])] = str(entry["code"])
        return result


class CatalogItemQuerySet(models.QuerySet):
    def active(self) -> CatalogItemQuerySet:
        return self.filter(is_active=True)

    def provided_by(self, department: Department) -> CatalogItemQuerySet:
        """Items ``department`` may supply (its own and those open to every department)."""
        return self.filter(
            models.Q(all_departments=True) | models.Q(providers=department)
        ).distinct()


class CatalogItem(ReferenceModel):
    """A kind of credit information (数据清单中的信息事项) and its field schema."""

    code = models.CharField(_("事项编码"), max_length=32, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    category = models.CharField(_("目录类别"), max_length=64, blank=True)
    description = models.TextField(_("说明"), blank=True)
    providers = models.ManyToManyField(
        Department, verbose_name=_("提供部门"), blank=True, related_name="catalog_items"
    )
    all_departments = models.BooleanField(_("所有部门均可提供"), default=False)
    disclosure = models.CharField(
        _("公开属性"), max_length=16, choices=Disclosure.choices, default=Disclosure.GOVERNMENT
    )
    definition = models.JSONField(
        _("字段定义"),
        default=dict,
        help_text=_(
            "subject、natural_key、decision_date、publicity、fields，格式见 docs/reference-data.md"
        ),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    objects = CatalogItemQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("信息事项（数据清单）")
        verbose_name_plural = _("信息事项（数据清单）")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @cached_property
    def spec(self) -> ItemSpec:
        return ItemSpec.parse(self.code, self.name, self.definition)

    def is_provided_by(self, department: Department) -> bool:
        return self.all_departments or self.providers.filter(pk=department.pk).exists()


class BehaviorRuleQuerySet(models.QuerySet):
    def active(self) -> BehaviorRuleQuerySet:
        return self.filter(is_active=True)


class BehaviorRule(ReferenceModel):
    """行为清单: classifies records of an item as trustworthy / untrustworthy behavior with a
    severity and the publicity periods that follow from it (periods are data, not code)."""

    code = models.CharField(_("规则编码"), max_length=48, unique=True)
    item = models.ForeignKey(
        CatalogItem, verbose_name=_("信息事项"), on_delete=models.PROTECT, related_name="rules"
    )
    name = models.CharField(_("行为名称"), max_length=200)
    kind = models.CharField(_("行为性质"), max_length=16, choices=BehaviorKind.choices)
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices)
    priority = models.PositiveSmallIntegerField(_("优先级"), default=100)
    conditions = models.JSONField(_("适用条件"), default=list, blank=True)
    published = models.BooleanField(_("向社会公示"), default=True)
    min_months = models.PositiveSmallIntegerField(_("最短公示期（月）"), default=0)
    max_months = models.PositiveSmallIntegerField(_("最长公示期（月）"), default=0)
    restoration_allowed = models.BooleanField(_("可申请信用修复"), default=True)
    restoration_after_months = models.PositiveSmallIntegerField(
        _("可申请修复的时间（月）"), default=0
    )
    basis = models.CharField(_("依据"), max_length=500, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    objects = BehaviorRuleQuerySet.as_manager()

    class Meta:
        ordering = ["item__code", "priority", "code"]
        verbose_name = _("行为规则（行为清单）")
        verbose_name_plural = _("行为规则（行为清单）")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @cached_property
    def parsed_conditions(self) -> list[Condition]:
        return [Condition.parse(c, self.code) for c in self.conditions]


class Matter(ReferenceModel):
    """应用清单: an administrative matter and the credit checks it requires."""

    code = models.CharField(_("事项编码"), max_length=32, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    category = models.CharField(_("类别"), max_length=64, blank=True)
    departments = models.ManyToManyField(
        Department, verbose_name=_("办理部门"), blank=True, related_name="matters"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级事项"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_(
            "具体事项继承上级事项的奖惩措施和核查名单（如食品生产经营许可 → 行政许可审批）"
        ),
    )
    checks = models.JSONField(_("核查要求"), default=dict, blank=True)
    basis = models.CharField(_("依据"), max_length=500, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("应用事项（应用清单）")
        verbose_name_plural = _("应用事项（应用清单）")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def lineage_ids(self) -> list[int]:
        """This matter and the generic matter it belongs to (one level: the loader refuses
        deeper hierarchies)."""
        return [self.pk, self.parent_id] if self.parent_id else [self.pk]


class CalendarDay(models.Model):
    """An exception to the Monday–Friday rule: an official holiday on a weekday, or a
    make-up working day on a weekend."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=64, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '休息'}"

    @staticmethod
    def default_is_workday(day: date) -> bool:
        return day.weekday() < 5


class EnglishName(models.Model):
    """The English display name of one piece of reference data (``name_en`` / ``label_en`` in
    the reference-data files), shown on the /en/ pages instead of the Chinese name. ``kind``
    is ``department``, ``list_type``, ``item``, ``field`` (a catalog field's label) or
    ``code:<table>`` (a code table's value);
    replaced as a whole by ``creditplus load_reference``."""

    kind = models.CharField(_("类别"), max_length=40)
    code = models.CharField(_("编码"), max_length=100)
    name = models.CharField(_("英文名称"), max_length=300)

    class Meta:
        verbose_name = _("英文名称")
        verbose_name_plural = _("英文名称")
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="one_english_name_per_code")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code} {self.name}"
