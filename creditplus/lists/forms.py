"""Forms of the list back office: filters, the manual proposal and the handling steps."""

from __future__ import annotations

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
from creditplus.lists.objections import ENTRY_OUTCOMES, RECORD_OUTCOMES, record_fields
from creditplus.lists.triggers import eligible_evidence
from creditplus.pages import decision_field, note_field
from creditplus.records.choices import EventStatus
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
        source = self.data if self.is_bound else self.initial
        self.subject = self.find_subject(source.get("uscc") or "")
        self.chosen_list = self.find_list(source.get("list_type"))
        self.ineligible = 0
        if self.subject is not None:
            records = restrict(CreditRecord.objects.current(), user).filter(subject=self.subject)
            if self.chosen_list is not None:
                # Only records whose behavior fits the list's criteria may be evidence.
                eligible = eligible_evidence(self.chosen_list, records)
                self.ineligible = records.count() - eligible.count()
                records = eligible
            field = self.fields["evidence"]
            field.queryset = (
                records.select_related("item")
                .prefetch_related("events")
                .order_by("-decision_date", "-id")
            )
            field.label_from_instance = evidence_label

    def find_list(self, raw: Any) -> ListType | None:
        """The chosen list, if the input names one of the lists offered."""
        if isinstance(raw, ListType):
            return raw
        try:
            return self.fields["list_type"].queryset.filter(pk=int(raw)).first()
        except (TypeError, ValueError):
            return None

    @staticmethod
    def find_subject(uscc: str) -> Subject | None:
        """The subject with this unified social credit code, if any."""
        uscc = uscc.strip().upper()
        return Subject.objects.filter(uscc=uscc).first() if uscc else None

    def clean_uscc(self) -> str:
        if self.subject is None:
            raise forms.ValidationError(_("未找到该统一社会信用代码对应的信用主体"))
        return self.subject.uscc


def evidence_label(record: CreditRecord) -> str:
    """A record as an evidence choice: item, its behaviors (失信行为·严重), key and date."""
    behaviors = "、".join(
        f"{e.get_kind_display()}·{e.get_severity_display()}"
        for e in record.events.all()
        if e.status == EventStatus.ACTIVE
    )
    parts = [f"#{record.pk} {record.item.name}", behaviors, record.natural_key]
    return " · ".join(p for p in parts if p) + f" · {record.decision_date or '—'}"


class NoticeForm(forms.Form):
    """告知 takes no input: the response period comes from the deadline table."""


class DecideForm(forms.Form):
    """认定: include with the decision document number, or reject with the reason."""

    decision = decision_field(
        _("认定结果"), [("include", _("列入名单")), ("reject", _("不予认定"))]
    )
    decision_no = forms.CharField(label=_("认定决定书文号"), max_length=100, required=False)
    note = note_field(_("说明"), _("不予认定时必填"))


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


FIELD_PREFIX = "f_"


class AnswerForm(forms.Form):
    """答复异议: the outcome allowed for the objection's target and the answer; for an
    objection to a record, the record's fields as inputs pre-filled with their current values
    (what the officer edits is the correction). Key fields cannot be corrected and are shown
    read-only; personal fields are not shown in clear and are changed only when filled in."""

    outcome = forms.ChoiceField(label=_("处理结果"), widget=forms.RadioSelect)
    answer = forms.CharField(
        label=_("答复意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, objection: Objection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = RECORD_OUTCOMES if objection.record_id else ENTRY_OUTCOMES
        self.fields["outcome"].choices = [(o.value, o.label) for o in allowed]
        self.record_fields = record_fields(objection.record) if objection.record_id else []
        requested = objection.requested_changes or {}
        for f in self.record_fields:
            help_text = ""
            if f["code"] in requested:
                help_text = _("申请人请求更正为：%(v)s") % {"v": requested[f["code"]]}
            elif f["label"] in requested:
                help_text = _("申请人请求更正为：%(v)s") % {"v": requested[f["label"]]}
            if f["key"]:
                help_text = _("业务主键，不能更正；如有错误请撤销后重新报送")
            elif f["personal"]:
                help_text = _("个人信息不显示明文；留空则不变，填写则更正为新值")
            field = forms.CharField(
                label=f["label"],
                required=False,
                max_length=f["max_length"] or 2000,
                initial="" if f["personal"] else f["value"],
                disabled=f["key"],
                help_text=help_text,
                widget=forms.TextInput(attrs={"placeholder": f["shown"]} if f["personal"] else {}),
            )
            self.fields[FIELD_PREFIX + f["code"]] = field

    def record_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(FIELD_PREFIX)]

    def other_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(FIELD_PREFIX)]

    def changed_values(self) -> dict[str, str | None]:
        """Field code → new value of the inputs that differ from the record (an emptied
        field becomes ``None``); personal fields only when filled in."""
        changes: dict[str, str | None] = {}
        for f in self.record_fields:
            if f["key"]:
                continue
            new = (self.cleaned_data.get(FIELD_PREFIX + f["code"]) or "").strip()
            if f["personal"]:
                if new:
                    changes[f["code"]] = new
            elif new != f["value"]:
                changes[f["code"]] = new or None
        return changes

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["changes"] = None
        if self.record_fields and data.get("outcome") == ObjectionOutcome.CORRECTED:
            data["changes"] = self.changed_values()
            if not data["changes"]:
                self.add_error(None, _("选择“已更正”时，请至少修改一个字段的值"))
        return data

    @staticmethod
    def field_aliases(objection: Objection) -> dict[str, str]:
        """A service error's field (a field code) → the input that shows it."""
        if not objection.record_id:
            return {}
        return {f.code: FIELD_PREFIX + f.code for f in objection.record.item.spec.fields}


class AcceptForm(forms.Form):
    """受理 or 不予受理 an application for restoration."""

    decision = decision_field(_("受理意见"), [("accept", _("受理")), ("refuse", _("不予受理"))])
    is_complex = forms.BooleanField(label=_("情况复杂，延长办理期限"), required=False)
    note = note_field(_("说明"), _("不予受理时必填"))


class RestorationDecideForm(forms.Form):
    """准予 or 不予信用修复."""

    decision = decision_field(_("办理决定"), [("approve", _("准予修复")), ("deny", _("不予修复"))])
    note = note_field(_("办理意见"), _("不予修复时必填"))
