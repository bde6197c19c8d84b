"""The batch page shows a file's warnings (columns_unknown) and its rejected rows in a real
browser, at desktop and phone widths, without horizontal scrolling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.records.files import csv_bytes, penalty

pytestmark = pytest.mark.browser


def test_batch_page_shows_file_warnings_at_both_widths(app_server, browser_page, tmp_path):
    rows = [
        {**penalty(n, **({"处罚类别": "罚没"} if n % 2 else {})), "内部备注": "x", "经办人": "y"}
        for n in range(1, 7)
    ]
    path = tmp_path / "with-extra-columns.csv"
    path.write_bytes(csv_bytes(rows))
    app_server.manage("ingest", str(path), "--item", "CF", "--dept", "SCJG")
    app_server.manage("demo_accounts", "--password", "Demo-pass-2026")
    page = browser_page
    page.goto(app_server.url + "/backoffice/login/")
    page.fill("#id_username", "xinyongban")
    page.fill("#id_password", "Demo-pass-2026")
    page.click("button[type=submit]")
    page.goto(app_server.url + "/backoffice/records/batches/")
    page.locator("table a[href*='/batches/']").first.click()
    warning = page.locator(".msg-warning")
    assert "columns_unknown" in warning.inner_text() and "内部备注" in warning.inner_text()
    shots = Path(os.environ.get("CREDITPLUS_SCREENSHOTS", tmp_path))
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{width}px: {overflow}px wider than the screen"
        page.screenshot(path=str(shots / f"batch-{width}.png"), full_page=True)
