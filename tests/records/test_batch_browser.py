"""A batch page shows a platform export's ignored columns and unknown code values, readable
on a phone and on a desktop (real Chromium)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.records.files import penalty

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CREDITPLUS_SCREENSHOTS", "/tmp/creditplus-screenshots"))


def test_batch_page_lists_ignored_columns_and_unknown_values(app_server, browser_page, tmp_path):
    rows = []
    for n in range(1, 4):
        row = {
            "ID": n,
            "RESOURCE_ID": f"res-{n}",
            "CHECK_FLAG": 1,
            "CREATE_DEPT_NAME": "区市场监管局",
        }
        row |= penalty(n)
        row["COMP_NAME"] = row.pop("行政相对人名称")
        rows.append(row)
    rows[2]["行政相对人类别"] = "企业法人（外资）"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    app_server.manage("demo_accounts", "--password", "Demo-pass-2026")
    out = app_server.manage("ingest", str(path), "--item", "CF", "--dept", "SCJG", "--json")
    batch = json.loads(out.stdout.strip().splitlines()[-1])["batch"]

    page = browser_page
    page.goto(app_server.url + "/backoffice/login/")
    page.fill("#id_username", "scjg")
    page.fill("#id_password", "Demo-pass-2026")
    page.click("button[type=submit]")
    page.goto(f"{app_server.url}/backoffice/records/batches/{batch}/")
    assert "已忽略本事项没有的列：ID、RESOURCE_ID、CHECK_FLAG、CREATE_DEPT_NAME" in page.inner_text(
        ".messages"
    )
    table = page.locator("h2:has-text('无法识别的代码值') + p + .table-wrap")
    assert "企业法人（外资）" in table.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"batch-warnings-{width}.png"), full_page=True)
