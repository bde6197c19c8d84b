"""Forms of the supervision back office: the classification lookup, commitment filters, the
paper commitment, its verification, the 双随机 plan, the inspection result and the 双告知
follow-up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from creditplus.pages import decision_field, note_field
from creditplus.subjects.models import Subject
from creditplus.supervision import services
from creditplus.supervision.choices import CommitmentStatus, InspectionResult, Outcome
from creditplus.supervision.models import Commitment, CommitmentTemplate, SupervisionField

ALL = [("", _("全部"))]
GRADES = services.GRADES
MAX_SEED = 2**63 - 1


class FieldChoiceField(forms.ModelChoiceField):
    """A supervision field, chosen by its code and shown as ``code name``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", SupervisionField.objects.all())
        kwargs.setdefault("label", _("监管领域"))
        kwargs.setdefault("to_field_name", "code")
        super().__init__(**kwargs)

    def label_from_instance(self, obj: SupervisionField) -> str:
        return f"{obj.code} {obj.name}"


class TemplateChoiceField(forms.ModelChoiceField):
    """A commitment template that can be signed, chosen by its code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", services.signable_templates())
        kwargs.setdefault("label", _("承诺模板"))
        kwargs.setdefault("to_field_name", "code")
        super().__init__(**kwargs)

    def label_from_instance(self, obj: CommitmentTemplate) -> str:
        return f"{obj.title}（{obj.kind} · {obj.department.name}）"


class UsccField(forms.CharField):
    """A unified social credit code, upper-cased."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("统一社会信用代码"))
        super().__init__(max_length=18, min_length=18, **kwargs)

    def to_python(self, value: Any) -> str:
        return super().to_python(value).upper()


def organisation(uscc: str) -> Subject:
    """The market subject with this code, or a validation error."""
    subject = Subject.objects.organisations().filter(uscc=uscc).first()
    if subject is None:
        raise forms.ValidationError(_("未找到该统一社会信用代码的市场主体"))
    return subject


class LookupForm(forms.Form):
    """分类监管查询: which supervision applies to a subject in a field."""

    uscc = UsccField()
    field = FieldChoiceField()

    def clean_uscc(self) -> Subject:
        return organisation(self.cleaned_data["uscc"])


class CommitmentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), choices=ALL + CommitmentStatus.choices, required=False
    )
    q = forms.CharField(
        label=_("主体名称或统一社会信用代码"), max_length=100, required=False, strip=True
    )

    def apply(self, qs: QuerySet[Commitment]) -> QuerySet[Commitment]:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["q"]:
            qs = qs.filter(
                Q(subject__name__contains=data["q"]) | Q(subject__uscc=data["q"].upper())
            )
        return qs


class PaperCommitmentForm(forms.Form):
    """A paper commitment recorded at a window (窗口纸质)."""

    template = TemplateChoiceField()
    uscc = UsccField(help_text=_("承诺人（市场主体）的统一社会信用代码"))
    reason = forms.CharField(
        label=_("承诺事由"),
        max_length=500,
        help_text=_("办理的事项，如：食品经营许可（告知承诺制）"),
    )
    signer = forms.CharField(label=_("签署人"), max_length=50)
    published = forms.BooleanField(label=_("向社会公示"), required=False, initial=True)

    def clean_uscc(self) -> Subject:
        return organisation(self.cleaned_data["uscc"])


class VerifyForm(forms.Form):
    """核查: the outcome, and for a breach what was not fulfilled and the liability."""

    outcome = forms.ChoiceField(label=_("履行情况"), choices=[("", _("请选择")), *Outcome.choices])
    unfulfilled = forms.CharField(
        label=_("未履行的承诺内容"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    liability = forms.CharField(
        label=_("违诺责任追究"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PlanForm(forms.Form):
    """A 双随机 plan: the field and title, the optional scope filters, ratio overrides (in
    percent, prefilled from the field's policy) and an optional seed."""

    field = FieldChoiceField()
    title = forms.CharField(label=_("抽查任务名称"), max_length=200)
    matter = forms.CharField(
        label=_("抽查事项"),
        max_length=200,
        required=False,
        help_text=_("随机抽查事项清单中的检查事项，如：食品经营者监督检查"),
    )
    industry = forms.CharField(
        label=_("行业"),
        max_length=200,
        required=False,
        help_text=_("不填为全部；多个用逗号分隔"),
    )
    address = forms.CharField(
        label=_("住所包含"), max_length=100, required=False, help_text=_("如：张江")
    )
    grades = forms.MultipleChoiceField(
        label=_("只抽取这些等级"),
        choices=[(g, g) for g in GRADES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选为全部等级"),
    )
    seed = forms.IntegerField(
        label=_("随机种子"),
        min_value=0,
        max_value=MAX_SEED,
        required=False,
        help_text=_("不填则随机生成并记录；填写已有计划的种子可复现抽取"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for grade in GRADES:
            self.fields[f"ratio_{grade}"] = forms.DecimalField(
                label=_("%(g)s 级抽查比例（%%）") % {"g": grade},
                min_value=Decimal(0),
                max_value=Decimal(100),
                decimal_places=3,
                required=False,
            )
        self.fields["seed"] = self.fields.pop("seed")  # after the ratios

    @staticmethod
    def policy_initial(field: SupervisionField | None) -> dict[str, str]:
        """The ratio inputs prefilled from ``field``'s policy, in percent."""
        if field is None:
            return {}
        return {f"ratio_{g}": f"{float(field.rule(g)['ratio']) * 100:g}" for g in GRADES}

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        industry = [
            part.strip() for part in data["industry"].replace("，", ",").split(",") if part.strip()
        ]
        return {"industry": industry, "address": data["address"].strip(), "grades": data["grades"]}

    def ratios(self) -> dict[str, float]:
        data = self.cleaned_data
        return {
            g: float(data[f"ratio_{g}"]) / 100 for g in GRADES if data[f"ratio_{g}"] is not None
        }


class ResultForm(forms.Form):
    """The inspection result (抽查检查结果) and the findings."""

    result = forms.ChoiceField(
        label=_("检查结果"),
        choices=[(v, label) for v, label in InspectionResult.choices if v],
    )
    findings = forms.CharField(
        label=_("发现问题及处理情况"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("发现问题的，须填写问题及处理情况"),
    )


class ReviewForm(forms.Form):
    """审核 of a recorded inspection result: approve (published) or return with the reason."""

    decision = decision_field(
        _("审核意见"), [("approve", _("审核通过，予以公示")), ("return", _("退回重新录入"))]
    )
    note = note_field(_("说明"), _("退回时必填"), max_length=500)


class FollowUpForm(forms.Form):
    note = forms.CharField(
        label=_("跟进情况"),
        max_length=500,
        help_text=_("如：已办理许可 / 未开展相关经营活动"),
    )
