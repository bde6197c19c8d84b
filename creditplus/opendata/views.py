from __future__ import annotations

from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from creditplus.opendata.datasets import DATASETS
from creditplus.opendata.models import Publication
from creditplus.opendata.services import (
    MANIFEST,
    content_type,
    dataset_guide,
    file_path,
    file_url,
    latest_publication,
)


def publication_datasets(publication: Publication) -> list[dict[str, Any]]:
    """Per dataset: its counts and its four files (snapshot and delta, CSV and JSON)."""
    rows = []
    for dataset in DATASETS:
        files = {
            f"{f['kind']}_{f['format']}": {**f, "url": file_url(publication.date, f["name"])}
            for f in publication.files
            if f["dataset"] == dataset.name
        }
        rows.append(
            {
                "name": dataset.name,
                "title": str(dataset.title),
                "counts": publication.counts.get(dataset.name, {}),
                "files": files,
            }
        )
    return rows


def index(request: HttpRequest) -> HttpResponse:
    """数据开放: the datasets and their fields, the latest files and the history (no login)."""
    latest = latest_publication()
    page = Paginator(Publication.objects.done().order_by("-date"), 20).get_page(
        request.GET.get("page")
    )
    for publication in page:
        publication.datasets = publication_datasets(publication)
        publication.manifest_url = file_url(publication.date, MANIFEST)
    return render(
        request,
        "opendata/index.html",
        {
            "latest": latest,
            "latest_datasets": publication_datasets(latest) if latest else [],
            "manifest_url": file_url(latest.date, MANIFEST) if latest else "",
            "guide": dataset_guide(),
            "page_obj": page,
            "querystring_base": "",
        },
    )


def download(request: HttpRequest, day: str, name: str) -> FileResponse:
    """One file of a publication, as an attachment; only the names its manifest lists."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    publication = get_object_or_404(Publication.objects.done(), date=when)
    path = file_path(publication, name)
    if path is None:
        raise Http404
    return FileResponse(
        open(path, "rb"),  # FileResponse closes it
        as_attachment=True,
        filename=f"{day}-{name}",
        content_type=content_type(name),
    )
