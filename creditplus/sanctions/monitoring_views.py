"""Back-office pages of monitoring (信用预警): the department's watched subjects (add by
codes or a file), its alerts, and its webhook with the delivery log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditplus.accounts.permissions import backoffice_view, get_for_user, restrict
from creditplus.errors import DomainError, show_on_form
from creditplus.pages import audit_read
from creditplus.sanctions import monitoring
from creditplus.sanctions.models import Subscription, WebhookDelivery, WebhookEndpoint

PAGE_SIZE = 30


class WatchForm(forms.Form):
    codes = forms.CharField(
        label=gettext_lazy("主体代码"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("统一社会信用代码或身份证号码，每行一个"),
    )
    file = forms.FileField(
        label=gettext_lazy("或上传代码文件"),
        required=False,
        help_text=gettext_lazy("TXT 或 CSV，每行一个代码（如本部门全部许可对象）"),
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)

    def codes_list(self) -> list[str]:
        text = self.cleaned_data.get("codes") or ""
        upload = self.cleaned_data.get("file")
        if upload:
            text += "\n" + upload.read().decode("utf-8-sig", errors="replace")
        return [part.strip() for line in text.splitlines() for part in line.split(",")]


class WebhookForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("回调地址"), max_length=300, assume_scheme="https")


@backoffice_view("sanctions.view_subscription")
def watches(request: HttpRequest) -> HttpResponse:
    """The watched subjects, and the form to add more."""
    form = WatchForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = monitoring.subscribe(
                request.user, form.codes_list(), form.cleaned_data["note"]
            )
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(
                request,
                _("新增订阅 %(a)d 个，已订阅 %(e)d 个，未找到 %(u)d 个")
                % {"a": result.added, "e": result.existing, "u": len(result.unknown)},
            )
    qs = monitoring.subscriptions_for(request.user)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(subject__name__icontains=q) | qs.filter(subject__uscc=q.upper())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sanctions/watches.html",
        {"form": form, "result": result, "page_obj": page, "q": q, "querystring_base": f"q={q}&"},
    )


@require_POST
@backoffice_view("sanctions.delete_subscription")
def unwatch(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop watching one subject."""
    subscription = get_for_user(Subscription.objects.all(), request.user, pk=pk)
    monitoring.unsubscribe(request.user, subscription)
    messages.success(request, _("已取消订阅"))
    return redirect("sanctions:watches")


@backoffice_view("sanctions.view_alert")
def alerts(request: HttpRequest) -> HttpResponse:
    """The department's alerts, newest first (``?digest=1``: those held for the digest)."""
    qs = monitoring.alerts_for(request.user)
    if request.GET.get("digest"):
        qs = qs.filter(digest=True)
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_read(
        "alert.view",
        "sanctions.alert",
        _("查看信用预警"),
        len(page.object_list),
        request.GET.urlencode(),
    )
    return render(
        request,
        "sanctions/alerts.html",
        {"page_obj": page, "kind": kind, "querystring_base": f"kind={kind}&"},
    )


@backoffice_view("sanctions.view_webhookdelivery")
def webhook(request: HttpRequest) -> HttpResponse:
    """The department's webhook (set or replace; the secret is shown once) and its log."""
    endpoint = restrict(WebhookEndpoint.objects.all(), request.user).first()
    form = WebhookForm(request.POST or None, initial={"url": endpoint.url if endpoint else ""})
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            secret = monitoring.set_webhook(request.user, form.cleaned_data["url"])
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            endpoint = restrict(WebhookEndpoint.objects.all(), request.user).first()
    deliveries = restrict(
        WebhookDelivery.objects.select_related("alert", "endpoint"),
        request.user,
        "endpoint__department",
    )
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sanctions/webhook.html",
        {"form": form, "endpoint": endpoint, "secret": secret, "page_obj": page},
    )
