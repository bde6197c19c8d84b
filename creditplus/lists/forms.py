"""Forms of the list back office: filters, the manual proposal and the handling steps."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.permissions import restrict
from creditplus.lists.choices import (
    EntryOrigin,
    EntryStatus,
    ListKind,
    ListOrigin,
    ObjectionOutcome,
    ObjectionStatus,
    RestorationStatus,
)
from creditplus.lists.models import ListEntry, ListType, Objection
from creditplus.lists.objections import ENTRY_OUTCOMES, RECORD_OUTCOMES
from creditplus.records.models import CreditRecord
from creditplus.subjects.models import Subject

ALL = [("", _("全部"))]


class EntryFilterForm(forms.Form):
    """Filters of the entry list; ``apply`` narrows a queryset to the chosen rows."""

    list_type = forms.ModelChoiceField(
        label=_("名单"), queryset=ListType.objects.all(), required=False, empty_label=_("全部")
    )
    status = forms.ChoiceField(label=_("状态"), choices=ALL + EntryStatus.choices, required=False)
    origin = forms.ChoiceField(label=_("来源"), choices=ALL + EntryOrigin.choices, required=False)
    kind = forms.ChoiceField(label=_("名单类别"), choices=ALL + ListKind.choices, required=False)
    q = forms.CharField(
        label=_("主体名称或统一社会信用代码"), max_length=100, required=False, strip=True
    )

    def apply(self, qs: QuerySet[ListEntry], *, with_status: bool = True) -> QuerySet[ListEntry]:
        """``qs`` filtered by the valid inputs (the status filter left out on request)."""
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data["list_type"]:
            qs = qs.filter(list_type=data["list_type"])
        if with_status and data["status"]:
            qs = qs.filter(status=data["status"])
        if data["origin"]:
            qs = qs.filter(origin=data["origin"])
        if data["kind"]:
            qs = qs.filter(list_type__kind=data["kind"])
        if data["q"]:
            qs = qs.filter(
                Q(subject__name__icontains=data["q"]) | Q(subject__uscc=data["q"].upper())
            )
        return qs


class ProposeForm(forms.Form):
    """人工提议: a district list, the subject by its USCC, reason, basis and the evidence
    records, chosen among the subject's current records that the user may see."""

    list_type = forms.ModelChoiceField(
        label=_("名单"),
        queryset=ListType.objects.active().filter(origin=ListOrigin.DISTRICT),
    )
    uscc = forms.CharField(
        label=_("统一社会信用代码"),
        max_length=18,
        min_length=18,
        help_text=_("输入后点击“查询记录”，再勾选证据记录"),
    )
    reason = forms.CharField(label=_("认定事由"), widget=forms.Textarea(attrs={"rows": 3}))
    basis = forms.CharField(label=_("认定依据"), widget=forms.Textarea(attrs={"rows": 3}))
    evidence = forms.ModelMultipleChoiceField(
        label=_("证据记录"),
        queryset=CreditRecord.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        raw = self.data.get("uscc") if self.is_bound else self.initial.get("uscc")
        self.subject = self.find_subject(raw or "")
        if self.subject is not None:
            records = restrict(CreditRecord.objects.current(), user).filter(subject=self.subject)
            field = self.fields["evidence"]
            field.queryset = records.select_related("item").order_by("-decision_date", "-id")
            field.label_from_instance = lambda r: (
                f"#{r.pk} {r.item.name} · {r.natural_key} · {r.decision_date or '—'}"
            )

    @staticmethod
    def find_subject(uscc: str) -> Subject | None:
        """The subject with this unified social credit code, if any."""
        uscc = uscc.strip().upper()
        return Subject.objects.filter(uscc=uscc).first() if uscc else None

    def clean_uscc(self) -> str:
        if self.subject is None:
            raise forms.ValidationError(_("未找到该统一社会信用代码对应的信用主体"))
        return self.subject.uscc


class NoticeForm(forms.Form):
    """告知 takes no input: the response period comes from the deadline table."""


class DecideForm(forms.Form):
    """认定: include with the decision document number, or reject with the reason."""

    decision = forms.ChoiceField(
        label=_("认定结果"),
        choices=[("include", _("列入名单")), ("reject", _("不予认定"))],
        widget=forms.RadioSelect,
        initial="include",
    )
    decision_no = forms.CharField(label=_("认定决定书文号"), max_length=100, required=False)
    note = forms.CharField(
        label=_("说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("不予认定时必填"),
    )


class PublishForm(forms.Form):
    """公示 takes no input."""


class RemoveForm(forms.Form):
    """移出 (撤销认定) by the deciding department, with the reason."""

    note = forms.CharField(label=_("移出理由"), widget=forms.Textarea(attrs={"rows": 2}))


class StatusFilterForm(forms.Form):
    """Status filter of the objection and restoration lists."""

    status = forms.ChoiceField(label=_("状态"), required=False)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = ALL + choices

    def apply(self, qs: QuerySet) -> QuerySet:
        """``qs`` filtered by the chosen status."""
        if self.is_valid() and self.cleaned_data["status"]:
            qs = qs.filter(status=self.cleaned_data["status"])
        return qs


def objection_filter(data: Any) -> StatusFilterForm:
    """The status filter of the objection list."""
    return StatusFilterForm(data, choices=ObjectionStatus.choices)


def restoration_filter(data: Any) -> StatusFilterForm:
    """The status filter of the restoration list."""
    return StatusFilterForm(data, choices=RestorationStatus.choices)


CHANGE_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=(.*)$")


class AnswerForm(forms.Form):
    """答复异议: the outcome allowed for the objection's target, the answer, and for a
    correction the new values as ``FIELD_CODE=value`` lines."""

    outcome = forms.ChoiceField(label=_("处理结果"), widget=forms.RadioSelect)
    answer = forms.CharField(label=_("答复意见"), widget=forms.Textarea(attrs={"rows": 4}))
    changes = forms.CharField(
        label=_("更正内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text=_("仅“已更正”时填写：每行一项，格式为 字段编码=更正后的值"),
    )

    def __init__(self, *args: Any, objection: Objection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = RECORD_OUTCOMES if objection.record_id else ENTRY_OUTCOMES
        self.fields["outcome"].choices = [(o.value, o.label) for o in allowed]
        if not objection.record_id:
            del self.fields["changes"]
        elif objection.requested_changes:
            self.fields["changes"].initial = "\n".join(
                f"{k}={v}" for k, v in objection.requested_changes.items()
            )

    def clean_changes(self) -> dict[str, str]:
        changes: dict[str, str] = {}
        for n, line in enumerate(self.cleaned_data["changes"].splitlines(), start=1):
            if not line.strip():
                continue
            match = CHANGE_LINE.match(line)
            if match is None:
                raise forms.ValidationError(
                    _("第 %(n)d 行格式应为 字段编码=值") % {"n": n}, code="changes_format"
                )
            changes[match.group(1)] = match.group(2).strip()
        return changes

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("outcome") != ObjectionOutcome.CORRECTED:
            data["changes"] = None
        elif "changes" in self.fields and not data.get("changes") and "changes" not in self.errors:
            self.add_error("changes", _("请填写更正后的字段值"))
        return data


class AcceptForm(forms.Form):
    """受理 or 不予受理 an application for restoration."""

    decision = forms.ChoiceField(
        label=_("受理意见"),
        choices=[("accept", _("受理")), ("refuse", _("不予受理"))],
        widget=forms.RadioSelect,
        initial="accept",
    )
    is_complex = forms.BooleanField(label=_("情况复杂，延长办理期限"), required=False)
    note = forms.CharField(
        label=_("说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("不予受理时必填"),
    )


class RestorationDecideForm(forms.Form):
    """准予 or 不予信用修复."""

    decision = forms.ChoiceField(
        label=_("办理决定"),
        choices=[("approve", _("准予修复")), ("deny", _("不予修复"))],
        widget=forms.RadioSelect,
        initial="approve",
    )
    note = forms.CharField(
        label=_("办理意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("不予修复时必填"),
    )
