from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from creditplus.accounts.permissions import backoffice_view
from creditplus.errors import DomainError
from creditplus.subjects import services
from creditplus.subjects.forms import BindAccountForm


@backoffice_view("subjects.add_subjectaccount")
def bind_account(request: HttpRequest) -> HttpResponse:
    """Window clerks bind an enterprise user to its subject after checking the license."""
    form = BindAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.bind_enterprise_user(
                form.cleaned_data["username"],
                form.cleaned_data["code"],
                verified_by="窗口核验营业执照",
                clerk=request.user.get_username(),
            )
        except DomainError as exc:
            form.add_error(None, exc.for_user)
        else:
            messages.success(
                request,
                _("已将用户 %(u)s 绑定到 %(s)s。")
                % {"u": account.user.username, "s": account.subject.name},
            )
            return redirect("subjects:bind_account")
    return render(request, "subjects/bind_account.html", {"form": form})
