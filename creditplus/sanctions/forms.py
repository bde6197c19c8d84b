"""Forms of the joint reward and punishment back office: catalog, case and task filters, the
feedback form, credit checks (single and bulk), the report of use and manual initiation."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.catalog.models import Matter
from creditplus.errors import DomainError
from creditplus.lists.models import ListType
from creditplus.records.readers import read_table
from creditplus.sanctions.choices import (
    FEEDBACK_OUTCOMES,
    CaseStatus,
    MeasureCategory,
    MeasureKind,
    MeasureStatus,
    MeasureTrigger,
    TaskOrigin,
    TaskStatus,
)
from creditplus.sanctions.models import Measure, SanctionCase, SanctionTask
from creditplus.sanctions.services import MAX_BULK_FEEDBACK

ALL = [("", _("全部"))]
OUTCOME_CHOICES = [(o.value, o.label) for o in FEEDBACK_OUTCOMES]
# Columns of an uploaded file that hold the codes to check (else: one code per line).
CODE_COLUMNS = ("统一社会信用代码", "代码", "code", "身份证号码")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class MatterChoiceField(forms.ModelChoiceField):
    """An active matter of the application list, shown as ``code name``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Matter.objects.filter(is_active=True).order_by("code"))
        kwargs.setdefault("label", _("办理事项"))
        kwargs.setdefault("to_field_name", "code")
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Matter) -> str:
        return f"{obj.code} {obj.name}"


# --------------------------------------------------------------------------- filters


class MeasureFilterForm(forms.Form):
    """Filters of the measure catalog."""

    kind = forms.ChoiceField(label=_("类别"), choices=ALL + MeasureKind.choices, required=False)
    status = forms.ChoiceField(
        label=_("落实状态"), choices=ALL + MeasureStatus.choices, required=False
    )
    category = forms.ChoiceField(
        label=_("措施类型"), choices=ALL + MeasureCategory.choices, required=False
    )
    trigger = forms.ChoiceField(
        label=_("实施时机"), choices=ALL + MeasureTrigger.choices, required=False
    )
    list_type = forms.ModelChoiceField(
        label=_("适用名单"),
        queryset=ListType.objects.all(),
        required=False,
        empty_label=_("全部"),
    )
    department = forms.ModelChoiceField(
        label=_("实施部门"),
        queryset=Department.objects.filter(is_active=True),
        required=False,
        empty_label=_("全部"),
    )
    q = forms.CharField(label=_("措施编码或名称"), max_length=100, required=False)

    def apply(self, qs: QuerySet[Measure]) -> QuerySet[Measure]:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        for name in ("kind", "status", "category", "trigger"):
            if data[name]:
                qs = qs.filter(**{name: data[name]})
        if data["list_type"]:
            qs = qs.filter(list_types=data["list_type"])
        if data["department"]:
            qs = qs.filter(departments=data["department"])
        if data["q"]:
            qs = qs.filter(Q(code__icontains=data["q"]) | Q(name__icontains=data["q"]))
        return qs.distinct()


class CaseFilterForm(forms.Form):
    """Filters of the case list."""

    q = forms.CharField(
        label=_("主体名称或统一社会信用代码"), max_length=100, required=False, strip=True
    )
    status = forms.ChoiceField(label=_("状态"), choices=ALL + CaseStatus.choices, required=False)
    list_type = forms.ModelChoiceField(
        label=_("名单"), queryset=ListType.objects.all(), required=False, empty_label=_("全部")
    )
    date_from = forms.DateField(
        label=_("发起日期自"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def apply(self, qs: QuerySet[SanctionCase]) -> QuerySet[SanctionCase]:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data["q"]:
            qs = qs.filter(
                Q(subject__name__icontains=data["q"]) | Q(subject__uscc=data["q"].upper())
            )
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["list_type"]:
            qs = qs.filter(entry__list_type=data["list_type"])
        if data["date_from"]:
            qs = qs.filter(initiated_at__date__gte=data["date_from"])
        if data["date_to"]:
            qs = qs.filter(initiated_at__date__lte=data["date_to"])
        return qs


class TaskFilterForm(forms.Form):
    """Filters of the task inbox (``overdue=1``: pending past the deadline)."""

    status = forms.ChoiceField(label=_("状态"), choices=ALL + TaskStatus.choices, required=False)
    measure = forms.ModelChoiceField(
        label=_("措施"),
        queryset=Measure.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("全部"),
    )
    origin = forms.ChoiceField(
        label=_("任务来源"), choices=ALL + TaskOrigin.choices, required=False
    )
    overdue = forms.BooleanField(label=_("仅看逾期"), required=False)
    q = forms.CharField(
        label=_("主体名称或统一社会信用代码"), max_length=100, required=False, strip=True
    )

    def apply(self, qs: QuerySet[SanctionTask], today: date) -> QuerySet[SanctionTask]:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["origin"]:
            qs = qs.filter(origin=data["origin"])
        if data["measure"]:
            qs = qs.filter(measure=data["measure"])
        if data["overdue"]:
            qs = qs.overdue(today)
        if data["q"]:
            qs = qs.filter(
                Q(case__subject__name__icontains=data["q"])
                | Q(case__subject__uscc=data["q"].upper())
                | Q(target_name__icontains=data["q"])
            )
        return qs


# --------------------------------------------------------------------------- actions


class FeedbackForm(forms.Form):
    """实施反馈: applied (matter and document number), not applicable or failed (reason)."""

    outcome = forms.ChoiceField(
        label=_("实施结果"), choices=OUTCOME_CHOICES, widget=forms.RadioSelect
    )
    matter = MatterChoiceField(
        label=_("实施事项"), required=False, empty_label="—", help_text=_("已实施时必填")
    )
    document_no = forms.CharField(
        label=_("文书号"), max_length=100, required=False, help_text=_("已实施时必填")
    )
    note = forms.CharField(
        label=_("反馈说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("不适用或未能实施时必填"),
    )

    def __init__(self, *args: Any, task: SanctionTask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The measure's own matters when the catalog names them, else every active matter.
        own = task.measure.matters.filter(is_active=True).order_by("code") if task else None
        if own is not None and own.exists():
            self.fields["matter"].queryset = own

    def feedback(self) -> dict[str, Any]:
        """The feedback as the services take it (``give_feedback``, ``give_feedback_many``)."""
        return {k: self.cleaned_data[k] for k in ("outcome", "note", "matter", "document_no")}


class BulkFeedbackForm(FeedbackForm):
    """批量反馈: the same feedback for the tasks ticked in the inbox (``task`` values)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].widget.attrs["rows"] = 2  # under the inbox's table

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = self.data.getlist("task") if hasattr(self.data, "getlist") else []
        if len(raw) > MAX_BULK_FEEDBACK:
            raise forms.ValidationError(
                _("一次最多反馈 %(n)d 项任务") % {"n": MAX_BULK_FEEDBACK}, code="too_many"
            )
        try:
            data["tasks"] = [int(value) for value in raw]
        except ValueError:
            raise forms.ValidationError(_("所选任务无效"), code="invalid") from None
        if not data["tasks"]:
            raise forms.ValidationError(_("请先勾选要反馈的任务"), code="selection_required")
        return data


class CheckForm(forms.Form):
    """信用核查 of one subject for one matter."""

    subject = forms.CharField(label=_("统一社会信用代码或身份证号码"), max_length=32, strip=True)
    matter = MatterChoiceField()
    purpose = forms.CharField(label=_("核查用途"), max_length=300)


class BulkCheckForm(forms.Form):
    """批量核查: a CSV/XLSX/TXT file of codes, the matter and the purpose."""

    file = forms.FileField(
        label=_("代码文件"),
        help_text=_(
            "CSV、XLSX 或 TXT：每行一个代码，或含“统一社会信用代码”“代码”或“code”列；"
            "一次最多 10000 个"
        ),
    )
    matter = MatterChoiceField()
    purpose = forms.CharField(label=_("核查用途"), max_length=300)

    def clean_file(self) -> list[str]:
        """The codes of the file, in file order, blanks left out."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件不能超过 5 MB"))
        try:
            return codes_of(upload.read(), upload.name)
        except DomainError as exc:
            raise forms.ValidationError(str(exc.message)) from None


def codes_of(content: bytes, name: str) -> list[str]:
    """Codes from a file: the column named like :data:`CODE_COLUMNS`, else the only column
    of a file with one code per line (its first line is then a code, not a header)."""
    table = read_table(content, name)
    frame = table.frame
    column = next(
        (c for c in frame.columns if c.strip().lower() in {x.lower() for x in CODE_COLUMNS}),
        None,
    )
    if column is not None:
        values = frame[column].to_list()
    elif frame.width == 1:
        values = [frame.columns[0], *frame[frame.columns[0]].to_list()]
    else:
        raise DomainError(
            "file_no_code_column",
            _("文件须每行一个代码，或含“统一社会信用代码”“代码”或“code”列"),
            "file",
        )
    return [v.strip() for v in values if v and v.strip()]


class ReportForm(forms.Form):
    """结果使用反馈 of a credit check."""

    outcome = forms.ChoiceField(
        label=_("结果使用情况"), choices=OUTCOME_CHOICES, widget=forms.RadioSelect
    )
    document_no = forms.CharField(
        label=_("文书号"), max_length=100, required=False, help_text=_("已采取措施时必填")
    )
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class InitiateForm(forms.Form):
    """人工发起 of a case for a list entry."""

    reason = forms.CharField(label=_("发起事由"), widget=forms.Textarea(attrs={"rows": 3}))


class CheckFilterForm(forms.Form):
    """Filters of the check history."""

    q = forms.CharField(label=_("核查代码或主体名称"), max_length=100, required=False)
    hit = forms.ChoiceField(
        label=_("命中名单"),
        choices=[*ALL, ("1", _("命中")), ("0", _("未命中"))],
        required=False,
    )
    reported = forms.ChoiceField(
        label=_("结果使用反馈"),
        choices=[*ALL, ("1", _("已反馈")), ("0", _("未反馈"))],
        required=False,
    )
    batch = forms.CharField(label=_("批量核查批次"), max_length=40, required=False)

    def apply(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data["q"]:
            qs = qs.filter(Q(identifier=data["q"].upper()) | Q(subject__name__icontains=data["q"]))
        if data["hit"]:
            qs = qs.filter(hit=data["hit"] == "1")
        if data["reported"]:
            qs = qs.filter(reported_at__isnull=data["reported"] == "0")
        if data["batch"]:
            qs = qs.filter(batch=data["batch"].strip())
        return qs


class EntryLookupForm(forms.Form):
    """The list entry of a manual initiation, by its number (MD00000012) or id."""

    entry = forms.CharField(label=_("名单编号"), max_length=20)

    def clean_entry(self) -> int:
        raw = self.cleaned_data["entry"].strip().upper().removeprefix("MD")
        if not raw.isdigit():
            raise forms.ValidationError(_("请输入名单编号，如 MD00000012"))
        return int(raw)
