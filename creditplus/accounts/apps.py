from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "creditplus.accounts"
    label = "accounts"
    verbose_name = _("部门、用户与审计")
