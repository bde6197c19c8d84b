from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from creditplus.opendata.models import Publication
from creditplus.opendata.services import MANIFEST, dataset_guide, file_url

router = Router(tags=["数据开放"])


class ColumnOut(Schema):
    code: str
    label: str


class DatasetOut(Schema):
    name: str
    title: str
    description: str
    columns: list[ColumnOut]


class CountsOut(Schema):
    rows: int
    added: int
    changed: int
    removed: int


class FileOut(Schema):
    name: str
    dataset: str
    kind: str = Field(description="snapshot 全量 / delta 增量")
    format: str
    rows: int
    bytes: int
    sha256: str
    url: str


class PublicationOut(Schema):
    date: date
    previous: date | None
    generated_at: datetime | None
    counts: dict[str, CountsOut]
    manifest_url: str
    files: list[FileOut]


class PublicationPage(Schema):
    datasets: list[DatasetOut]
    count: int
    page: int
    page_size: int
    results: list[PublicationOut]


class PublicationPageIn(Schema):
    page: int = Field(1, ge=1, le=10000)
    page_size: int = Field(20, ge=1, le=50)


@router.get(
    "/opendata", response=PublicationPage, auth=None, summary="开放数据：各期发布及文件地址（公开）"
)
def publications(request: HttpRequest, params: Query[PublicationPageIn]) -> dict:
    """The datasets with their columns, and the daily publications, newest first, with the
    absolute URLs of their files (full snapshots, deltas since the previous day, manifest)."""
    done = Publication.objects.done().order_by("-date")
    start = (params.page - 1) * params.page_size
    results = []
    for publication in done[start : start + params.page_size]:
        results.append(
            {
                "date": publication.date,
                "previous": publication.previous,
                "generated_at": publication.generated_at,
                "counts": publication.counts,
                "manifest_url": request.build_absolute_uri(file_url(publication.date, MANIFEST)),
                "files": [
                    {**f, "url": request.build_absolute_uri(file_url(publication.date, f["name"]))}
                    for f in publication.files
                ],
            }
        )
    return {
        "datasets": dataset_guide(),
        "count": done.count(),
        "page": params.page,
        "page_size": params.page_size,
        "results": results,
    }
