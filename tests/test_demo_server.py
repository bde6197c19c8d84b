"""`make demo`'s script brings up a server that answers /healthz, Chinese and English pages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.records.files import csv_bytes, penalty

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def upload(url: str, token: str, content: bytes) -> dict:
    """POST a CSV to the file API as a department system (multipart/form-data)."""
    boundary = "creditplus-demo-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="item"\r\n\r\nCF\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        return json.loads(response.read())


def test_demo_script_serves_the_portal(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "CREDITPLUS_VAR_DIR": str(tmp_path),
        "CREDITPLUS_DEMO_ADDR": f"127.0.0.1:{port}",
        "CREDITPLUS_DEMO_SUBJECTS": "300",  # the same script, a smaller district
    }
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(
        [str(ROOT / "scripts/demo.sh")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # A liveness bound, not a speed target: the script ingests and evaluates a district
        # first, on a machine that runs the rest of the suite at the same time.
        deadline = time.monotonic() + 360
        while True:
            try:
                status, body = fetch(f"{base}/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "demo.log").read_text())
                time.sleep(0.5)
        assert status == 200 and '"ok"' in body
        status, home = fetch(f"{base}/")
        assert status == 200 and "信用浦东" in home
        status, english = fetch(f"{base}/en/")
        assert status == 200 and "Credit Pudong" in english
        # DEBUG is off in the demo: a missing page is the site's own Chinese 404 page (not
        # Django's debug page), and the static files are still served.
        with pytest.raises(urllib.error.HTTPError) as missing:
            fetch(f"{base}/no-such-page/")
        page = missing.value.read().decode()
        assert missing.value.code == 404 and "页面不存在" in page and "Traceback" not in page
        status, css = fetch(f"{base}/static/css/creditplus.css")
        assert status == 200 and "--red" in css
        output = (tmp_path / "demo.log").read_text()
        assert "xinyongban" in output and "区信用办" in output  # demo accounts printed
        assert "已归集" in output  # demo data ingested through the normal path
        # The worker runs beside the server: an uploaded file is ingested in the background.
        token = subprocess.run(
            [str(ROOT / ".venv/bin/creditplus"), "issue_token", "--dept", "SCJG", "--name", "t"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        job = upload(f"{base}/api/v1/batches/file", token, csv_bytes([penalty(424242)]))
        deadline = time.monotonic() + 120
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            request = urllib.request.Request(
                base + job["url"], headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                job = json.loads(response.read())
        assert job["status"] == "done" and job["batch"], job
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
