from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "creditplus.accounts"
    label = "accounts"
    verbose_name = _("部门、用户与审计")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_migrate

        from creditplus import bulk  # noqa: F401  (registers the ``__one_of`` lookup)
        from creditplus.accounts import services, throttling

        user_login_failed.connect(throttling.audit_login_failed, dispatch_uid="audit_login_failed")
        user_locked_out.connect(throttling.audit_locked_out, dispatch_uid="audit_locked_out")
        # migrate and flush (tests) may create permissions under other ids
        post_migrate.connect(services.forget_permission_names, dispatch_uid="permission_names")
