"""Forms of the public portal and of the enterprise area (我的信用)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from creditplus.catalog.names import local_name

PHONE = RegexValidator(r"^[0-9+()\- ]{7,20}$", _("请填写有效的联系电话"))
FILE_HELP = _("可选择多个文件，最多 10 个，每个不超过 10 MB；支持 PDF、OFD、图片、Word、ZIP")


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that lets the browser select several files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field whose cleaned value is the list of uploaded files (possibly empty)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        """Clean every uploaded file; an empty selection is an error only when required."""
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        single = super().clean
        return [single(f, initial) for f in files]


class ListSearchForm(forms.Form):
    """Search the published entries of one list by name or unified social credit code."""

    q = forms.CharField(
        label=_("名称或统一社会信用代码"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("输入企业名称或代码")}),
    )


class ObjectionForm(forms.Form):
    """异议申请: the reason, a contact phone, an optional agent and evidence files."""

    reason = forms.CharField(
        label=_("异议理由"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请说明认为该信息有误或不应公示的事实和理由"),
    )
    contact = forms.CharField(label=_("联系电话"), max_length=20, validators=[PHONE])
    agent_name = forms.CharField(
        label=_("代理人（可选）"),
        max_length=100,
        required=False,
        help_text=_("委托他人办理时填写"),
    )
    attachments = MultipleFileField(label=_("证明材料"), required=False, help_text=FILE_HELP)

    def application(self) -> dict[str, Any]:
        """The application as ``objections.submit_objection`` takes it."""
        data = self.cleaned_data
        return {
            "reason": data["reason"],
            "contact": data["contact"],
            "agent_name": data["agent_name"],
            "files": data["attachments"],
        }


class RestorationForm(forms.Form):
    """信用修复申请: correction statement, contact, evidence files and the signed commitment."""

    statement = forms.CharField(
        label=_("整改及履行情况"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请说明失信行为的纠正情况和法定义务的履行情况（如罚款缴纳）"),
    )
    contact = forms.CharField(label=_("联系电话"), max_length=20, validators=[PHONE])
    attachments = MultipleFileField(
        label=_("证明材料"),
        required=False,
        help_text=format_lazy(
            "{}{}", _("已履行义务、纠正失信行为的证明材料，至少 1 个。"), FILE_HELP
        ),
    )
    commitment = forms.BooleanField(
        label=_("本主体已阅读并签署上述信用承诺"),
        error_messages={"required": _("申请信用修复须签署信用承诺书")},
    )

    def application(self) -> dict[str, Any]:
        """The application as ``restorations.apply_restoration`` takes it."""
        data = self.cleaned_data
        return {
            "statement": data["statement"],
            "commitment_signed": data["commitment"],
            "contact": data["contact"],
            "files": data["attachments"],
        }


class CommitmentSignForm(forms.Form):
    """网上签署信用承诺: the matter, the signer, publication, and the explicit promise."""

    reason = forms.CharField(
        label=_("承诺事由"),
        max_length=500,
        help_text=_("办理的事项，如：食品经营许可（告知承诺制）"),
    )
    signer = forms.CharField(
        label=_("签署人"), max_length=50, help_text=_("法定代表人或经授权的经办人姓名")
    )
    published = forms.BooleanField(label=_("同意向社会公示本承诺"), required=False, initial=True)
    agree = forms.BooleanField(
        label=_("本人已阅读并承诺"),
        error_messages={"required": _("请阅读承诺内容和违诺责任，并勾选“本人已阅读并承诺”")},
    )


# --------------------------------------------------------------------------- public pages

SEARCH_MIN_LENGTH = 2


class SubjectSearchForm(forms.Form):
    """信用查询: a subject's name (two characters or more) or its unified social credit code."""

    q = forms.CharField(
        label=_("企业名称或统一社会信用代码"),
        max_length=100,
        required=False,
        strip=True,
        error_messages={"max_length": _("查询内容不能超过 %(limit_value)d 个字符")},
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("如：张江高科，或 18 位统一社会信用代码"),
                "autocomplete": "off",
            }
        ),
    )

    def clean_q(self) -> str:
        q = self.cleaned_data["q"]
        if q and len(q) < SEARCH_MIN_LENGTH:
            raise ValidationError(
                _("请至少输入 %(n)d 个字符。") % {"n": SEARCH_MIN_LENGTH}, code="too_short"
            )
        return q


class DualFilterForm(forms.Form):
    """双公示 filters: the subject's name or the document number (``q``, as on /search),
    providing department, category (from the item's code table) and the decision-date range. Every field is optional; bad input becomes a message on the form."""

    q = forms.CharField(
        label=_("主体名称或文书号"),
        max_length=100,
        required=False,
        strip=True,
        error_messages={"max_length": _("查询内容不能超过 %(limit_value)d 个字符")},
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("如：上海 昊骏，或 沪浦市监处〔2026〕1804号")}
        ),
    )
    department = forms.ModelChoiceField(
        label=_("部门"),
        queryset=None,
        to_field_name="code",
        required=False,
        empty_label=_("全部部门"),
        error_messages={"invalid_choice": _("请从列表中选择部门")},
    )
    category = forms.ChoiceField(
        label=_("类别"),
        required=False,
        error_messages={"invalid_choice": _("请从列表中选择类别")},
    )
    decided_from = forms.DateField(
        label=_("决定日期自"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("请输入有效的日期，如 2025-06-01")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    decided_to = forms.DateField(
        label=_("决定日期至"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("请输入有效的日期，如 2025-06-01")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(
        self,
        *args: Any,
        departments: Any,
        categories: list[tuple[str, str]],
        category_label: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["department"].label_from_instance = lambda d: local_name(
            "department", d.code, d.name
        )
        self.fields["category"].choices = [("", _("全部类别")), *categories]
        if category_label:
            self.fields["category"].label = category_label

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("decided_from"), data.get("decided_to")
        if start and end and start > end:
            self.add_error("decided_to", _("结束日期不能早于开始日期"))
        return data
