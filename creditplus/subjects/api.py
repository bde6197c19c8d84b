from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from creditplus import ratelimit
from creditplus.subjects.queries import search_page

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
