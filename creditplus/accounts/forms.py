from django import forms
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.models import Department


class IssueTokenForm(forms.Form):
    """Issue a token for a department system; only the credit office picks the department."""

    name = forms.CharField(label=_("令牌名称"), max_length=64, help_text=_("例如：执法办案系统"))
    department = forms.ModelChoiceField(
        label=_("部门"), queryset=Department.objects.filter(is_active=True), required=False
    )

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.is_platform_wide:
            del self.fields["department"]

    def clean(self) -> dict:
        data = super().clean()
        if self.user.is_platform_wide:
            if not data.get("department"):
                self.add_error("department", _("请选择部门"))
        else:
            data["department"] = self.user.department
        return data


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("动作"), max_length=64, required=False)
    subject = forms.CharField(label=_("信用主体"), max_length=64, required=False)
