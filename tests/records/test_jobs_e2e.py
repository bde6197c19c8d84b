"""Uploads through a running server and a running worker process (`creditplus db_worker`):
the API's 202 and job URL, and the upload page's progress, preview and confirmation in
Chromium at phone and desktop width (issue 16 finding 5, issue 26 item 13)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from creditplus.records.jobs import CONFIRM_UPDATES
from tests.records.files import csv_bytes, penalty
from tests.server import ROOT

pytestmark = pytest.mark.browser
ROWS = CONFIRM_UPDATES + 5


@pytest.fixture
def worker(app_server):
    """The task worker beside the server, on the server's database."""
    log = (Path(app_server.env["CREDITPLUS_VAR_DIR"]) / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "creditplus", "db_worker", "--no-reload", "--interval", "0.2"],
        env=app_server.env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def poll(request, url: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 120
    while True:
        body = request.get(url, headers=headers).json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def test_api_and_upload_page_run_through_the_worker(app_server, worker, browser_page, tmp_path):
    # CREDITPLUS_SCREENSHOTS=docs/screenshots refreshes the README's screenshots.
    shots = Path(os.environ.get("CREDITPLUS_SCREENSHOTS") or tmp_path)
    token = app_server.manage("issue_token", "--dept", "SCJG", "--name", "e2e").stdout.strip()
    app_server.manage("demo_accounts", "--password", "Demo-pass-2026")
    page = browser_page
    auth = {"Authorization": f"Bearer {token}"}
    rows = [penalty(9000 + n) for n in range(ROWS)]
    file = {"name": "penalties.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}
    answer = page.request.post(
        app_server.url + "/api/v1/batches/file",
        multipart={"item": "CF", "file": file},
        headers=auth,
    )
    assert answer.status == 202, answer.text()
    job = poll(page.request, app_server.url + answer.json()["url"], auth)
    assert job["status"] == "done", job
    batch = page.request.get(app_server.url + job["batch_url"], headers=auth).json()
    assert (batch["submitted"], batch["accepted"]) == (ROWS, ROWS)

    # The same records again from the upload page, changed: a preview waits for confirmation.
    page.goto(app_server.url + "/backoffice/login/")
    page.fill("#id_username", "scjg")
    page.fill("#id_password", "Demo-pass-2026")
    page.click("button[type=submit]")
    page.goto(app_server.url + "/backoffice/records/upload/")
    option = page.locator("#id_item option", has_text="行政处罚").first.get_attribute("value")
    page.select_option("#id_item", option)
    changed = [{**row, "处罚内容": "罚款人民币拾万元"} for row in rows]
    page.set_input_files(
        "#id_file",
        files=[{"name": "again.csv", "mimeType": "text/csv", "buffer": csv_bytes(changed)}],
    )
    page.get_by_role("button", name="上传并归集").click()
    page.wait_for_selector("#preview-updated", timeout=60_000)  # the page refreshes itself
    assert page.locator("#preview-updated").inner_text() == str(ROWS)
    confirm = page.locator("button[value=confirm]").bounding_box()
    assert confirm and confirm["y"] + confirm["height"] < 844  # on the phone's first screen
    assert "罚款人民币拾万元" in page.locator("#preview-sample").inner_text()
    page.screenshot(path=shots / "upload-preview-390.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=shots / "upload-preview-1366.png", full_page=True)

    page.click("button[value=confirm]")
    page.wait_for_url("**/backoffice/records/batches/*/", timeout=60_000)
    figures = page.locator(".card .figure").all_inner_texts()
    assert figures[:3] == [str(ROWS), "0", str(ROWS)]  # submitted, new, updated
