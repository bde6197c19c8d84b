from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from creditplus.accounts.models import Department


def home(request: HttpRequest) -> HttpResponse:
    """The public home page of 信用浦东 (no login)."""
    departments = Department.objects.filter(is_active=True).only("name", "code")
    return render(request, "portal/home.html", {"departments": departments})
