from django import forms
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem


class UploadForm(forms.Form):
    """Upload one file for one catalog item; department officers only see their own items."""

    item = forms.ModelChoiceField(label=_("信息事项"), queryset=CatalogItem.objects.none())
    file = forms.FileField(
        label=_("文件"),
        help_text=_("CSV（UTF-8 或 GBK）、XLSX 或 JSON；表头可用字段中文名称或字段编码"),
    )
    batch_id = forms.RegexField(
        label=_("批次号（可选）"),
        regex=r"^[A-Za-z0-9._:-]*$",
        max_length=64,
        required=False,
        help_text=_("部门自己的批次号；同一批次号重复提交不会重复归集"),
    )
    department = forms.ModelChoiceField(
        label=_("报送部门"), queryset=Department.objects.filter(is_active=True), required=False
    )

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        items = CatalogItem.objects.active()
        if user.is_platform_wide:
            self.fields["item"].queryset = items
        else:
            self.fields["item"].queryset = items.provided_by(user.department)
            del self.fields["department"]

    def clean(self) -> dict:
        data = super().clean()
        if self.user.is_platform_wide:
            if not data.get("department"):
                self.add_error("department", _("请选择报送部门"))
        else:
            data["department"] = self.user.department
        return data


class BatchFilterForm(forms.Form):
    item = forms.ModelChoiceField(
        label=_("信息事项"), queryset=CatalogItem.objects.all(), required=False
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), ("done", _("已完成")), ("failed", _("文件被拒收"))],
    )
