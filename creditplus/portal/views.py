from __future__ import annotations

from typing import TypeVar

from django.core.paginator import Paginator
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from creditplus.catalog.choices import SubjectKind
from creditplus.lists.models import ListEntry, ListType
from creditplus.lists.objections import open_objection_targets
from creditplus.pages import page_of, querystring
from creditplus.portal import public
from creditplus.portal.forms import DualFilterForm, ListSearchForm, SubjectSearchForm
from creditplus.ratelimit import rate_limited
from creditplus.records import disclosure
from creditplus.records.models import CreditRecord
from creditplus.supervision import inspections as supervision_inspections
from creditplus.supervision import services as supervision

M = TypeVar("M", bound=Model)


def home(request: HttpRequest) -> HttpResponse:
    """The public home page of 信用浦东 (no login): search box, the latest 双公示 items, list
    publications and commitments, and the platform's statistics (cached)."""
    stats = public.home_statistics()
    return render(
        request,
        "portal/home.html",
        {
            "form": SubjectSearchForm(),
            "stats": stats,
            "chart": public.home_chart(stats),
            "licenses": public.describe_records(public.latest_dual(disclosure.LICENSE)),
            "penalties": public.describe_records(public.latest_dual(disclosure.PENALTY)),
            "publications": public.latest_publications(),
            "commitments": public.latest_commitments(),
        },
    )


@rate_limited("search")
def search(request: HttpRequest) -> HttpResponse:
    """信用查询: public subjects by part of the name (two characters or more) or by exact
    unified social credit code, 20 a page."""
    form = SubjectSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    page = public.search_subjects(q, public.page_number(request.GET.get("page"))) if q else None
    if page is not None:
        public.flag_listed(page.object_list)
    return render(
        request,
        "portal/search.html",
        {
            "form": form,
            "q": q,
            "page_obj": page,
            "documents": public.find_documents(q) if q else [],
            "querystring_base": querystring(request),
        },
    )


@rate_limited("subject")
def subject(request: HttpRequest, code: str) -> HttpResponse:
    """A subject's public credit information (organisations and individual businesses only;
    natural persons have no public page). ``?item=CODE`` lists all records of one item."""
    found = public.public_subject(code)
    if found is None:
        raise Http404
    item_code = request.GET.get("item", "")
    if item_code:
        item_records = public.subject_item_records(found, item_code)
        if item_records is None:
            raise Http404
        item, records = item_records
        page = page_of(request, records, public.PAGE_SIZE)
        return render(
            request,
            "portal/subject_item.html",
            {
                "subject": found,
                "item": item,
                "page_obj": page,
                "records": public.describe_records(list(page.object_list), with_actions=True),
                "querystring_base": querystring(request),
            },
        )
    return render(request, "portal/subject.html", {"page": public.subject_page(found)})


def _dual(request: HttpRequest, item_code: str) -> HttpResponse:
    """双公示: the public licenses or penalties, filtered, newest first, 20 a page."""
    item = public.dual_item(item_code)
    if item is None:
        raise Http404
    form = DualFilterForm(
        request.GET or None,
        departments=public.active_departments(),
        categories=public.dual_categories(item),
        category_label=public.category_label(item),
    )
    records: QuerySet[CreditRecord] = CreditRecord.objects.none()
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        records = disclosure.dual_records(
            item_code,
            department=data.get("department"),
            category=data.get("category") or "",
            decided_from=data.get("decided_from"),
            decided_to=data.get("decided_to"),
            q=data.get("q") or "",
        )
    page = public.dual_page(records, request.GET.get("page"))
    return render(
        request,
        "portal/dual.html",
        {
            "item": item,
            "is_penalty": item_code == disclosure.PENALTY,
            "form": form,
            "page_obj": page,
            "records": public.describe_records(list(page.object_list)),
            "querystring_base": querystring(request),
        },
    )


def licenses(request: HttpRequest) -> HttpResponse:
    """行政许可公示."""
    return _dual(request, disclosure.LICENSE)


def penalties(request: HttpRequest) -> HttpResponse:
    """行政处罚公示."""
    return _dual(request, disclosure.PENALTY)


def public_list_types() -> QuerySet[ListType]:
    """The list types shown to the public: active and published (公示) ones."""
    return ListType.objects.active().filter(published=True).select_related("deciding_department")


def search_entries(entries: QuerySet[M], q: str) -> QuerySet[M]:
    """Public search of rows with a ``subject`` (list entries, commitments, inspections) by
    exact unified social credit code or by name. Names match organisations only: a natural
    person's full name must not reveal a masked entry."""
    q = q.strip()
    if not q:
        return entries
    by_name = Q(subject__name__contains=q) & ~Q(subject__kind=SubjectKind.PERSON)
    return entries.filter(by_name | Q(subject__uscc=q.upper()))


def _querystring_base(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    base = query.urlencode()
    return f"{base}&" if base else ""


def lists(request: HttpRequest) -> HttpResponse:
    """红黑名单: the public list types with their criteria and how many subjects they hold."""
    # Subjects, not entries: one subject may be on a list twice (e.g. two court cases).
    counts = {
        row["list_type"]: row["n"]
        for row in ListEntry.objects.public()
        .values("list_type")
        .annotate(n=Count("subject", distinct=True))
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
            "subject_count": entries.values("subject").distinct().count(),
            "querystring_base": f"{base}&" if base else "",
        },
    )


def commitments(request: HttpRequest) -> HttpResponse:
    """承诺公示: the published credit commitments, newest first, searchable, 20 a page."""
    form = ListSearchForm(request.GET or None)
    qs = supervision.public_commitments()
    if form.is_valid():
        qs = search_entries(qs, form.cleaned_data["q"])
    return render(
        request,
        "portal/commitments.html",
        {
            "form": form,
            "page_obj": Paginator(qs, 20).get_page(request.GET.get("page")),
            "querystring_base": _querystring_base(request),
        },
    )


def inspections(request: HttpRequest) -> HttpResponse:
    """抽查结果公示: recorded 双随机 results, newest first, searchable, 20 a page, and the
    problem rate by grade over all of them (the grades only in the aggregate)."""
    form = ListSearchForm(request.GET or None)
    results = supervision_inspections.public_results()
    qs = search_entries(results, form.cleaned_data["q"]) if form.is_valid() else results
    stats = supervision_inspections.statistics(results)
    chart = {
        "grades": [s.grade for s in stats],
        "inspected": [s.inspected for s in stats],
        "problems": [s.problems for s in stats],
        "rate": [None if s.problem_rate is None else round(100 * s.problem_rate, 1) for s in stats],
    }
    return render(
        request,
        "portal/inspections.html",
        {
            "form": form,
            "page_obj": Paginator(qs, 20).get_page(request.GET.get("page")),
            "querystring_base": _querystring_base(request),
            "stats": stats,
            "chart": chart,
        },
    )
