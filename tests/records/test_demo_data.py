"""`creditplus demo_data --load`: every generated bad row is rejected, every good one
accepted, and loading again ingests nothing twice."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from creditplus.records.models import IngestBatch
from creditplus.subjects.models import Subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_data_loads_through_the_ingest_path_and_reconciles(reference, tmp_path):
    out = StringIO()
    call_command("demo_data", "--subjects", "300", "--out", str(tmp_path), "--load", stdout=out)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    files = manifest["files"]
    totals = IngestBatch.objects.aggregate(s=Sum("submitted"), r=Sum("rejected"), a=Sum("accepted"))
    assert IngestBatch.objects.count() == len(files)
    assert totals["s"] == sum(f["rows"] for f in files)
    assert totals["r"] == sum(f["bad_rows"] for f in files)  # exactly the deliberate errors
    assert totals["a"] == totals["s"] - totals["r"]
    assert not IngestBatch.objects.filter(status="failed").exists()
    formats = {f["format"] for f in files}
    assert {"csv-utf8", "csv-gb18030", "json"} <= formats
    assert Subject.objects.filter(
        name="上海张江高科技园区开发股份有限公司", registered=True
    ).exists()

    again = StringIO()
    call_command("demo_data", "--subjects", "300", "--out", str(tmp_path), "--load", stdout=again)
    assert "沿用已生成的演示数据" in again.getvalue()
    assert IngestBatch.objects.count() == len(files)


def test_a_multi_file_load_runs_the_event_consumers_once_at_the_end(
    reference, tmp_path, django_capture_on_commit_callbacks
):
    from creditplus.lists.models import ListEntry
    from creditplus.records.bulkload import load_directory
    from creditplus.records.demo import generate
    from creditplus.records.models import ConsumerCursor, CreditEvent

    files = [f.__dict__ for f in generate(tmp_path, 60, seed=7)]
    with django_capture_on_commit_callbacks() as callbacks:
        summary = load_directory(tmp_path)
    # One deferred run for all the files, not one per batch.
    assert len(callbacks) == 1
    assert not ConsumerCursor.objects.filter(last_event_id__gt=0).exists()
    callbacks[0]()
    last = CreditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert last is not None
    cursors = dict(ConsumerCursor.objects.values_list("name", "last_event_id"))
    assert cursors and set(cursors.values()) == {last}
    # The lists consumer did its work: external lists imported from the loaded records.
    assert ListEntry.objects.filter(origin="imported").exists()
    assert summary["submitted"] == sum(f["rows"] for f in files)


def test_a_load_that_fails_midway_still_runs_the_consumers_for_what_it_committed(
    reference, tmp_path, django_capture_on_commit_callbacks
):
    from creditplus.records.bulkload import load_files, read_manifest
    from creditplus.records.demo import generate

    generate(tmp_path, 60, seed=7)
    files = read_manifest(tmp_path)
    # The last file in load order vanishes after the manifest was checked.
    max(files, key=lambda f: (f.item.code != "DJ", str(f.path))).path.unlink()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(FileNotFoundError):
        load_files(files)
    assert len(callbacks) == 1  # the committed batches' events are still consumed
    assert IngestBatch.objects.count() == len(files) - 1
