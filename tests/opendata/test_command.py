"""creditplus opendata_publish: publishes a date and prints a Chinese summary."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from creditplus.opendata.models import Publication
from tests.opendata.helpers import DAY1, collect, license_row

pytestmark = pytest.mark.django_db


def test_command_publishes_the_date_and_prints_a_summary(reference, opendata_dir):
    collect("XK", license_row(1))
    out = StringIO()
    call_command("opendata_publish", "--date", DAY1.isoformat(), stdout=out, stderr=StringIO())
    summary = out.getvalue()
    assert f"数据开放 {DAY1.isoformat()}（首次发布）" in summary
    assert "行政许可 1 条，新增 1" in summary
    assert Publication.objects.get().date == DAY1
    assert (opendata_dir / DAY1.isoformat() / "manifest.json").is_file()


def test_command_refuses_a_future_date(reference, opendata_dir):
    err = StringIO()
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "opendata_publish", "--date", tomorrow.isoformat(), stdout=StringIO(), stderr=err
        )
    assert exit_.value.code == 2
    assert "opendata_future" in err.getvalue()
    assert not Publication.objects.exists()
