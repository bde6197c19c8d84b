from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from creditplus.accounts.models import Department
from creditplus.catalog.choices import SubjectKind
from creditplus.lists.models import ListEntry, ListType
from creditplus.lists.objections import open_objection_targets
from creditplus.portal.forms import ListSearchForm


def home(request: HttpRequest) -> HttpResponse:
    """The public home page of 信用浦东 (no login)."""
    departments = Department.objects.filter(is_active=True).only("name", "code")
    return render(request, "portal/home.html", {"departments": departments})


def public_list_types() -> QuerySet[ListType]:
    """The list types shown to the public: active and published (公示) ones."""
    return ListType.objects.active().filter(published=True).select_related("deciding_department")


def search_entries(entries: QuerySet[ListEntry], q: str) -> QuerySet[ListEntry]:
    """Public search by exact unified social credit code or by name. Names match
    organisations only: a natural person's full name must not reveal a masked entry."""
    q = q.strip()
    if not q:
        return entries
    by_name = Q(subject__name__contains=q) & ~Q(subject__kind=SubjectKind.PERSON)
    return entries.filter(by_name | Q(subject__uscc=q.upper()))


def lists(request: HttpRequest) -> HttpResponse:
    """红黑名单: the public list types with their criteria and how many subjects they hold."""
    counts = {
        row["list_type"]: row["n"]
        for row in ListEntry.objects.public().values("list_type").annotate(n=Count("id"))
    }
    types = list(public_list_types())
    for list_type in types:
        list_type.public_count = counts.get(list_type.pk, 0)
    return render(request, "portal/lists.html", {"list_types": types})


def list_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The published entries of one public list, searchable, 20 a page (no login)."""
    list_type = get_object_or_404(public_list_types(), code=code)
    form = ListSearchForm(request.GET or None)
    entries = (
        ListEntry.objects.public()
        .filter(list_type=list_type)
        .select_related("subject", "department")
        .order_by("-published_on", "-id")
    )
    if form.is_valid():
        entries = search_entries(entries, form.cleaned_data["q"])
    page = Paginator(entries, 20).get_page(request.GET.get("page"))
    _, in_objection = open_objection_targets(entries=[e.pk for e in page])
    query = request.GET.copy()
    query.pop("page", None)
    base = query.urlencode()
    return render(
        request,
        "portal/list_detail.html",
        {
            "list_type": list_type,
            "form": form,
            "page_obj": page,
            "in_objection": in_objection,
            "querystring_base": f"{base}&" if base else "",
        },
    )
