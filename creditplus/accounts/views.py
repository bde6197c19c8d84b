from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from creditplus.accounts import audit, services
from creditplus.accounts.forms import AuditFilterForm, IssueTokenForm
from creditplus.accounts.models import ApiToken, Department, Notification
from creditplus.accounts.permissions import backoffice_view, get_for_user, restrict
from creditplus.accounts.queries import audit_events_for


@backoffice_view()
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "department_count": Department.objects.filter(is_active=True).count(),
        "token_count": restrict(ApiToken.objects.filter(revoked_at__isnull=True), user).count(),
    }
    return render(request, "accounts/home.html", context)


@backoffice_view("accounts.view_department")
def departments(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/departments.html", {"departments": Department.objects.all()})


@backoffice_view("accounts.view_apitoken")
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = None
    issued = None
    if user.has_perm("accounts.add_apitoken"):
        form = IssueTokenForm(request.POST or None, user=user)
        if request.method == "POST" and form.is_valid():
            issued = services.issue_token(
                form.cleaned_data["department"], form.cleaned_data["name"]
            )
            form = IssueTokenForm(user=user)
    qs = restrict(ApiToken.objects.select_related("department", "user"), user)
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": qs[:200], "form": form, "issued": issued},
    )


@require_POST
@backoffice_view("accounts.change_apitoken")
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_for_user(ApiToken.objects.all(), request.user, pk=token_id)
    services.revoke_token(token)
    messages.success(request, _("令牌「%(name)s」已吊销。") % {"name": token.name})
    return redirect("accounts:tokens")


@backoffice_view("accounts.view_auditevent")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = audit_events_for(
        request.user, action=filters.get("action"), subject=filters.get("subject")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    audit.record("audit.view", purpose="查看审计日志", after={"page": page.number, **filters})
    query = request.GET.copy()
    query.pop("page", None)
    base = query.urlencode()
    return render(
        request,
        "accounts/audit.html",
        {"form": form, "page_obj": page, "querystring_base": f"{base}&" if base else ""},
    )


@backoffice_view()
def notifications(request: HttpRequest) -> HttpResponse:
    """站内通知 addressed to the user, their department or their roles, newest first."""
    qs = Notification.objects.for_user(request.user).order_by("-created_at", "-id")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request, "accounts/notifications.html", {"page_obj": page, "querystring_base": ""}
    )
