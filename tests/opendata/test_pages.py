"""The public /opendata/ index and the file downloads (no login)."""

from __future__ import annotations

import re

import pytest
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.utils import translation

from creditplus.opendata.choices import PublicationStatus
from creditplus.opendata.models import Publication
from creditplus.opendata.services import publish
from tests.opendata.helpers import DAY1, DAY2, collect, license_row, penalty_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days(reference, opendata_dir):
    collect("XK", license_row(1))
    collect("CF", penalty_row(11))
    publish(DAY1)
    collect("XK", license_row(2), today=DAY2)
    return publish(DAY2).publication


def one_h1(html: str) -> bool:
    return len(re.findall(r"<h1[\s>]", html)) == 1


def test_index_without_publications(reference, opendata_dir):
    response = Client().get("/opendata/")
    assert response.status_code == 200
    html = response.content.decode()
    assert one_h1(html) and "尚未发布开放数据" in html
    assert "行政相对人名称" in html  # the field guide is there before the first files


def test_index_lists_latest_files_fields_and_history(two_days, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        response = Client().get("/opendata/")
    assert response.status_code == 200
    html = response.content.decode()
    assert one_h1(html)
    day1, day2 = DAY1.isoformat(), DAY2.isoformat()
    for name in ("licenses.csv", "licenses.json", "penalties-delta.csv", "lists.json"):
        assert f'href="/opendata/{day2}/{name}"' in html
    assert f'href="/opendata/{day2}/manifest.json"' in html
    assert f'href="/opendata/{day1}/licenses-delta.csv"' in html  # history
    assert "行政许可" in html and "行政处罚" in html and "红黑名单" in html
    assert "XK_XDR_MC" in html and "罚款金额(万元)" in html  # field guide from the catalog
    assert "XK_FR_ZJHM" not in html
    size = two_days.file("licenses.csv")["bytes"]
    with translation.override("zh-hans"):
        assert str(filesizeformat(size)) in html


def test_index_in_english(two_days):
    response = Client().get("/en/opendata/")
    assert response.status_code == 200
    assert f'href="/opendata/{DAY2.isoformat()}/licenses.csv"' in response.content.decode()


@pytest.mark.parametrize(
    "name,content_type",
    [
        ("licenses.csv", "text/csv; charset=utf-8"),
        ("penalties-delta.json", "application/json"),
        ("manifest.json", "application/json"),
    ],
)
def test_download_is_an_attachment_of_the_written_file(two_days, opendata_dir, name, content_type):
    response = Client().get(f"/opendata/{DAY2.isoformat()}/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment")
    assert f"{DAY2.isoformat()}-{name}" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body == (opendata_dir / DAY2.isoformat() / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/opendata/{day}/secret.csv",  # well-formed, not in the manifest
        "/opendata/{day}/extra.csv",  # on disk, not in the manifest
        "/opendata/{day}/.lock",
        "/opendata/{day}/LICENSES.CSV",
        "/opendata/{day}/../../creditplus.sqlite3",
        "/opendata/{day}/..%2F..%2Fmanifest.json",
        "/opendata/{day}/%2e%2e/{day}/licenses.csv",
        "/opendata/{day}/licenses.csv%00.txt",
        "/opendata/{day}/licenses.csv/",
        "/opendata/2020-01-01/licenses.csv",  # no publication that day
        "/opendata/2025-13-45/licenses.csv",
        "/opendata/20250101/licenses.csv",
        "/opendata/../var/creditplus.sqlite3",
    ],
)
def test_unknown_or_traversing_names_are_404(two_days, opendata_dir, path):
    (opendata_dir / DAY2.isoformat() / "extra.csv").write_text("x")
    (opendata_dir / "secret.csv").write_text("x")
    # A NUL in the address is refused before routing (400 nul_character), the rest are 404.
    expected = 400 if "%00" in path else 404
    assert Client().get(path.format(day=DAY2.isoformat())).status_code == expected


def test_files_of_a_failed_publication_are_not_served(reference, opendata_dir):
    day = DAY1.isoformat()
    (opendata_dir / day).mkdir(parents=True)
    (opendata_dir / day / "licenses.csv").write_text("x")
    Publication.objects.create(
        date=DAY1,
        status=PublicationStatus.FAILED,
        files=[{"name": "licenses.csv", "dataset": "licenses", "kind": "snapshot"}],
    )
    assert Client().get(f"/opendata/{day}/licenses.csv").status_code == 404
    assert "尚未发布开放数据" in Client().get("/opendata/").content.decode()
