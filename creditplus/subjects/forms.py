from django import forms
from django.utils.translation import gettext_lazy as _


class BindAccountForm(forms.Form):
    username = forms.CharField(label=_("企业用户名"), max_length=150)
    code = forms.CharField(label=_("统一社会信用代码"), min_length=18, max_length=18)
    license_checked = forms.BooleanField(label=_("已核验营业执照原件（或电子营业执照）"))
