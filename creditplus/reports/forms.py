"""Forms of the query windows and of the public verification page. They only collect input;
the rules (identifiers, authorization, file checks) live in ``reports.services``."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditplus.reports.choices import Authorizer, IdVerification
from creditplus.reports.services import AUTHORIZATION_DEFAULT_DAYS

PURPOSE_HELP = _("如：招投标、申请财政资金、评优评先、融资贷款、自查等")


class EnterpriseReportForm(forms.Form):
    uscc = forms.CharField(label=_("统一社会信用代码"), min_length=18, max_length=18, strip=True)
    license_checked = forms.BooleanField(
        label=_("营业执照已核验"),
        required=False,
        help_text=_("已核验营业执照原件（或电子营业执照）及经办人身份"),
    )
    purpose = forms.CharField(label=_("查询用途"), max_length=500, help_text=PURPOSE_HELP)


def _default_valid_until():
    return timezone.localdate() + timedelta(days=AUTHORIZATION_DEFAULT_DAYS)


class PersonalReportForm(forms.Form):
    id_number = forms.CharField(label=_("被查询人公民身份号码"), max_length=18, strip=True)
    name = forms.CharField(label=_("被查询人姓名"), max_length=50, strip=True)
    id_verification = forms.ChoiceField(label=_("身份核验方式"), choices=IdVerification.choices)
    authorizer = forms.ChoiceField(
        label=_("办理人"), choices=Authorizer.choices, widget=forms.RadioSelect, initial="self"
    )
    agent_name = forms.CharField(
        label=_("代理人姓名"), max_length=50, required=False, help_text=_("委托代理人办理时填写")
    )
    agent_id_number = forms.CharField(label=_("代理人公民身份号码"), max_length=18, required=False)
    file = forms.FileField(
        label=_("书面授权书 / 授权委托书扫描件"),
        help_text=_("PDF、JPG 或 PNG，不超过 5 MB；代理人办理的上传授权委托书"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    purpose = forms.CharField(label=_("查询用途"), max_length=500, help_text=PURPOSE_HELP)
    valid_until = forms.DateField(
        label=_("授权有效期至"),
        initial=_default_valid_until,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class VerifyForm(forms.Form):
    no = forms.CharField(
        label=_("报告编号"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "XYBG…"}),
    )
    code = forms.CharField(
        label=_("验证码"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class OwnReportForm(forms.Form):
    purpose = forms.CharField(label=_("查询用途"), max_length=500, help_text=PURPOSE_HELP)
