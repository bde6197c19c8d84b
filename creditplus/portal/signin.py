"""The enterprise's own sign-in for 我的信用: sign in, sign out, change the password and reset
a forgotten one, all on the portal (the back office's 工作台登录 serves government and
institution staff). Django's auth views with the portal's templates; enterprise accounts are
opened and bound to their subject at a service window after the business licence is checked."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditplus.accounts import audit


class EnterpriseLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    next_page = reverse_lazy("portal:my")


class EnterpriseLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:home")


class EnterprisePasswordChangeView(auth_views.PasswordChangeView):
    template_name = "portal/password_form.html"
    success_url = reverse_lazy("portal:my")
    extra_context = {"title": gettext_lazy("修改密码")}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Django's own check would send the enterprise to the back office's sign-in page.
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "portal:login")
        return super().dispatch(request, *args, **kwargs)

    @transaction.atomic
    def form_valid(self, form: Any) -> Any:
        response = super().form_valid(form)
        audit.record("user.password_change", obj=form.user)
        messages.success(self.request, _("密码已修改。"))
        return response


class EnterprisePasswordResetView(auth_views.PasswordResetView):
    template_name = "portal/password_reset.html"
    email_template_name = "portal/password_reset_email.txt"
    subject_template_name = "portal/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")


class EnterprisePasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_message.html"
    extra_context = {
        "title": gettext_lazy("重置密码"),
        "message": gettext_lazy(
            "如果该邮箱是已登记的企业账号邮箱，重置密码的链接已发送到该邮箱，请在 3 天内使用。"
        ),
    }


class EnterprisePasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_form.html"
    success_url = reverse_lazy("portal:password_reset_complete")
    extra_context = {"title": gettext_lazy("设置新密码")}

    @transaction.atomic
    def form_valid(self, form: Any) -> Any:
        response = super().form_valid(form)
        audit.record("user.password_reset", obj=form.user)
        return response


class EnterprisePasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portal/password_message.html"
    extra_context = {
        "title": gettext_lazy("密码已重置"),
        "message": gettext_lazy("新密码已生效，请用新密码登录。"),
        "show_login": True,
    }
