"""Forms of the integrity back office: a new period, and the assessor's score entry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.integrity import services
from creditplus.integrity.choices import Source
from creditplus.integrity.models import IntegrityIndicator


class PeriodForm(forms.Form):
    code = forms.RegexField(
        label=_("评价周期编码"),
        regex=services.PERIOD_CODE,
        max_length=6,
        help_text=_("年度如 2026，季度如 2026Q3"),
        error_messages={"invalid": _("评价周期编码应为年度（如 2026）或季度（如 2026Q3）")},
    )


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return f"{obj.code} {obj.name}"


class IndicatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: IntegrityIndicator) -> str:
        return f"{obj.level1_name} · {obj.name}（{obj.weight}）"


class AssessorScoreForm(forms.Form):
    department = DepartmentChoiceField(
        label=_("部门"), queryset=Department.objects.none(), to_field_name="code"
    )
    indicator = IndicatorChoiceField(
        label=_("评估指标"), queryset=IntegrityIndicator.objects.none(), to_field_name="code"
    )
    points = forms.DecimalField(
        label=_("得分（0–100）"),
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
    )
    evidence = forms.CharField(label=_("评估依据"), widget=forms.Textarea(attrs={"rows": 4}))
    evidence_file = forms.FileField(label=_("证明材料（可选）"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = services.assessed_departments().order_by(
            "sort_order", "code"
        )
        self.fields["indicator"].queryset = IntegrityIndicator.objects.filter(
            source=Source.ASSESSOR
        )
