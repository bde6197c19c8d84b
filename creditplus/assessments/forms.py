"""Forms of the 信用张江 pages. They only collect input; the rules (answers, files, grant
periods) live in ``assessments.services``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditplus.assessments.choices import AnswerType
from creditplus.assessments.models import Questionnaire
from creditplus.assessments.services import NO, YES, banks
from creditplus.evaluation.choices import Grade


class QuestionnaireForm(forms.Form):
    """One field per question (``q_<code>``) and an optional evidence file per question
    (``e_<code>``), built from the questionnaire's data."""

    def __init__(self, questionnaire: Questionnaire, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        self.sections = []
        for section in questionnaire.sections:
            rows = []
            for q in section["questions"]:
                name = f"q_{q['code']}"
                self.fields[name] = self._field(q)
                self.fields[f"e_{q['code']}"] = forms.FileField(
                    label=_("证明材料（%(q)s，可选）") % {"q": q["code"]},
                    required=False,
                    help_text=_("PDF、JPG 或 PNG，不超过 10 MB"),
                )
                rows.append((self[name], self[f"e_{q['code']}"]))
            self.sections.append((section["name"], rows))
        self.fields["comment"] = forms.CharField(
            label=_("总体评语"),
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 3}),
        )

    @staticmethod
    def _field(q: dict[str, Any]) -> forms.Field:
        label = f"{q['code']}. {q['text']}"
        if q["type"] == AnswerType.YESNO:
            return forms.ChoiceField(
                label=label, choices=[(YES, _("是")), (NO, _("否"))], widget=forms.RadioSelect
            )
        if q["type"] == AnswerType.CHOICE:
            return forms.ChoiceField(
                label=label, choices=[(o, o) for o in q["options"]], widget=forms.RadioSelect
            )
        if q["type"] == AnswerType.NUMBER:
            return forms.DecimalField(label=label, min_value=0, max_digits=18, decimal_places=4)
        return forms.CharField(
            label=label, required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
        )

    def answers(self) -> dict[str, str]:
        return {
            name[2:]: "" if value is None else str(value)
            for name, value in self.cleaned_data.items()
            if name.startswith("q_")
        }

    def files_by_question(self) -> dict[str, Any]:
        return {
            name[2:]: value
            for name, value in self.cleaned_data.items()
            if name.startswith("e_") and value
        }


class SubjectField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label=_("被评企业统一社会信用代码"), min_length=18, max_length=18, strip=True, **kwargs
        )


class OtherAssessmentForm(QuestionnaireForm):
    def __init__(self, questionnaire: Questionnaire, *args: Any, **kwargs: Any) -> None:
        super().__init__(questionnaire, *args, **kwargs)
        self.fields = {"uscc": SubjectField(), **self.fields}


class GrantForm(forms.Form):
    institution = forms.ModelChoiceField(label=_("被授权金融机构"), queryset=banks())
    purpose = forms.CharField(
        label=_("授权用途"), max_length=300, help_text=_("如：申请科技信贷、信易贷授信审批")
    )
    valid_from = forms.DateField(
        label=_("授权起始日"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("授权截止日"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("截止日当天仍有效；最长一年，可随时撤销"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["institution"].queryset = banks()
        self.fields["valid_from"].initial = today
        self.fields["valid_until"].initial = today + timedelta(days=90)


class FinancingForm(forms.Form):
    opted_in = forms.BooleanField(
        label=_("参与融资对接（向金融机构展示本企业名称、行业、信用等级和融资需求）"),
        required=False,
    )
    need = forms.CharField(label=_("融资需求"), max_length=500, required=False)


class ReportForm(forms.Form):
    purpose = forms.CharField(
        label=_("报告用途"), max_length=500, help_text=_("如：科技信贷申请、招投标、自查")
    )


class MatchmakingFilter(forms.Form):
    grade = forms.ChoiceField(
        label=_("信用等级"),
        required=False,
        choices=[("", _("全部")), *Grade.choices],
    )
    industry = forms.CharField(label=_("行业"), required=False, max_length=64)
