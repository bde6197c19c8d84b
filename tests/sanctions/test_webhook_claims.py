"""Two overlapping `sanctions_maintain` runs send each webhook delivery once (issue 16,
finding 4): real processes on a committed database, a real loopback HTTP receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.server import ROOT, run_python, throwaway_database

pytestmark = pytest.mark.slow
DELIVERIES = 12


class SlowReceiver(BaseHTTPRequestHandler):
    """A department system that takes a while to answer, so that the two runs overlap."""

    received: Counter[str] = Counter()
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with SlowReceiver.lock:
            SlowReceiver.received[self.headers["X-Creditplus-Delivery"]] += 1
        time.sleep(0.2)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


DELIVER = (
    "import django; django.setup()\n"
    "from creditplus.sanctions.monitoring import deliver_webhooks\n"
    "print(deliver_webhooks()['delivered'])"
)


def test_overlapping_runs_deliver_each_webhook_once(tmp_path):
    SlowReceiver.received = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with throwaway_database(tmp_path) as url:
            env = {**os.environ, "DATABASE_URL": url, "CREDITPLUS_VAR_DIR": str(tmp_path)}

            run_python(env, "-m", "creditplus", "migrate", "--noinput", "-v0")
            run_python(env, "-m", "creditplus", "load_reference")
            hook = f"http://127.0.0.1:{server.server_port}/hook"
            ids = run_python(env, "-m", "tests.sanctions.pending_deliveries", hook, str(DELIVERIES))
            # The deliveries step of two sanctions_maintain runs at once: the command itself
            # also holds a job lock (accounts.jobs), so two commands would not overlap at all;
            # the claims must hold without it (e.g. a run whose lock host differs).
            command = [sys.executable, "-c", DELIVER]
            runs = [
                subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
                for _ in range(2)
            ]
            outputs = [p.communicate(timeout=300)[0] for p in runs]
            assert all(p.returncode == 0 for p in runs)
    finally:
        server.shutdown()
    expected = ids.strip().splitlines()[-1].split(",")
    assert len(expected) == DELIVERIES
    assert SlowReceiver.received == Counter(dict.fromkeys(expected, 1))
    delivered = [int(out.strip().splitlines()[-1]) for out in outputs]
    assert sum(delivered) == DELIVERIES, outputs
