from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from creditplus import ratelimit
from creditplus.errors import NotFound
from creditplus.records.disclosure import subject_public_records
from creditplus.subjects.queries import public_subjects, search_page

router = Router(tags=["信用主体"])


class SubjectOut(Schema):
    code: str = Field(alias="uscc")
    name: str
    kind: str
    legal_rep_name: str
    status: str


class SubjectPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[SubjectOut]


class SearchIn(Schema):
    q: str = Field(
        ..., min_length=2, max_length=100, description="名称中的连续文字，或统一社会信用代码"
    )
    page: int = Field(1, ge=1, le=1000)
    page_size: int = Field(20, ge=1, le=50)


@router.get("/subjects", response=SubjectPage, auth=None, summary="查询信用主体（公开）")
def search(request: HttpRequest, params: Query[SearchIn]) -> dict:
    ratelimit.check(request, "search")
    found = search_page(params.q, params.page, params.page_size)
    return {
        "count": found.count,
        "page": params.page,
        "page_size": params.page_size,
        "results": found.results,
    }


class RecordCount(Schema):
    item: str
    name: str
    count: int


class SubjectDetailOut(SubjectOut):
    enterprise_type: str
    industry: str
    address: str
    registered_capital: Decimal | None
    established_on: date | None
    public_records: list[RecordCount]


@router.get("/subjects/{code}", response=SubjectDetailOut, auth=None, summary="信用主体的公开信息")
def detail(request: HttpRequest, code: str) -> dict:
    ratelimit.check(request, "subject")
    subject = public_subjects().filter(uscc=code.strip().upper()).first()
    if subject is None:
        raise NotFound()
    # Only what the portal shows: records inside their publicity (records/disclosure.py).
    counts = (
        subject_public_records(subject)
        .values("item__code", "item__name")
        .annotate(n=Count("id"))
        .order_by("item__code")
    )
    data = {
        f: getattr(subject, f)
        for f in (
            "uscc",
            "name",
            "kind",
            "legal_rep_name",
            "status",
            "enterprise_type",
            "industry",
            "address",
            "registered_capital",
            "established_on",
        )
    }
    data["public_records"] = [
        {"item": c["item__code"], "name": c["item__name"], "count": c["n"]} for c in counts
    ]
    return data
