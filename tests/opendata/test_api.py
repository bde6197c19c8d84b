"""GET /api/v1/opendata: the datasets, the publications and their file URLs (public)."""

from __future__ import annotations

import pytest
from django.test import Client

from creditplus.opendata.services import publish
from tests.opendata.helpers import DAY1, DAY2, collect, license_row

pytestmark = pytest.mark.django_db


def test_datasets_are_described_before_any_publication(reference, opendata_dir):
    body = Client().get("/api/v1/opendata").json()
    assert body["count"] == 0 and body["results"] == []
    datasets = {d["name"]: d for d in body["datasets"]}
    assert list(datasets) == ["licenses", "penalties", "lists"]
    codes = [c["code"] for c in datasets["licenses"]["columns"]]
    assert codes[:4] == ["key", "first_seen", "last_changed", "XK_XDR_MC"]
    assert "XK_FR_ZJHM" not in codes and "XK_XDR_ZJHM" not in codes


def test_publications_newest_first_with_absolute_file_urls(
    reference, opendata_dir, django_assert_max_num_queries
):
    collect("XK", license_row(1))
    publish(DAY1)
    collect("XK", license_row(2), today=DAY2)
    publish(DAY2)

    client = Client()
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/opendata", {"page_size": 1}).json()
    assert body["count"] == 2 and body["page_size"] == 1
    [latest] = body["results"]
    assert (latest["date"], latest["previous"]) == (DAY2.isoformat(), DAY1.isoformat())
    assert latest["counts"]["licenses"] == {"rows": 2, "added": 1, "changed": 0, "removed": 0}
    files = {f["name"]: f for f in latest["files"]}
    delta = files["licenses-delta.csv"]
    assert (delta["kind"], delta["format"], delta["rows"]) == ("delta", "csv", 1)
    assert delta["url"] == f"http://testserver/opendata/{DAY2.isoformat()}/licenses-delta.csv"
    download = client.get(delta["url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    assert latest["manifest_url"].endswith(f"/opendata/{DAY2.isoformat()}/manifest.json")

    second = client.get("/api/v1/opendata", {"page": 2, "page_size": 1}).json()
    assert [p["date"] for p in second["results"]] == [DAY1.isoformat()]


@pytest.mark.parametrize("params", [{"page_size": 500}, {"page": 0}, {"page": "x"}])
def test_paging_is_bounded(reference, params):
    response = Client().get("/api/v1/opendata", params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
