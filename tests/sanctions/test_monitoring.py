"""信用预警: watched subjects entering or leaving a list or receiving a serious record alert
the watching department (inbox, daily digest past a threshold) and a signed webhook, which
is retried with backoff when the receiver fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from creditplus.accounts.models import AuditEvent, Notification
from creditplus.errors import DomainError
from creditplus.lists import services as lists
from creditplus.records import consumers
from creditplus.sanctions import monitoring
from creditplus.sanctions.models import Alert, Subscription, WebhookDelivery
from tests.lists.fixtures import ingest_penalty

pytestmark = pytest.mark.django_db


class Receiver(BaseHTTPRequestHandler):
    """A department system's webhook endpoint: answers with the queued status codes."""

    statuses: list[int] = []
    received: list[tuple[dict, str]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((json.loads(body), self.headers["X-Creditplus-Signature"], body))
        self.send_response(Receiver.statuses.pop(0) if Receiver.statuses else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.statuses, Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_subscribe_by_codes_reports_unknown_ones(subject, officer):
    result = monitoring.subscribe(
        officer, [subject.uscc, subject.uscc.lower(), "91110000000000000X"]
    )
    assert (result.added, result.unknown) == (1, ["91110000000000000X"])
    again = monitoring.subscribe(officer, [subject.uscc])
    assert (again.added, again.existing) == (0, 1)
    assert AuditEvent.objects.filter(action="watch.subscribe").count() == 1
    with pytest.raises(DomainError):
        monitoring.subscribe(officer, [" "])


def test_list_entry_alerts_the_watchers_and_signs_the_webhook(
    proposal, officer, other_officer, receiver
):
    monitoring.subscribe(other_officer, [proposal.subject.uscc])
    secret = monitoring.set_webhook(other_officer, receiver)
    lists.send_notice(proposal, officer, today=timezone.localdate() - timedelta(days=30))
    proposal.refresh_from_db()
    lists.decide_entry(
        proposal,
        officer,
        include=True,
        decision_no="沪浦市监信〔2026〕9号",
        today=proposal.response_due + timedelta(days=1),
    )
    assert not Alert.objects.exists()  # decided but not yet published: no measures yet
    lists.publish_entry(proposal, officer)
    alert = Alert.objects.get(department=other_officer.department)
    assert alert.kind == "list_entered" and "严重失信主体名单" in alert.title
    assert not Alert.objects.filter(department=officer.department).exists()  # not watching
    assert Notification.objects.for_user(other_officer).filter(title__contains="信用预警").exists()

    Receiver.statuses = [500]
    first = monitoring.deliver_webhooks()
    delivery = WebhookDelivery.objects.get(alert=alert)
    assert first["pending"] == 1 and delivery.attempts == 1 and delivery.last_status_code == 500
    assert monitoring.deliver_webhooks()["pending"] == 0  # not due before the backoff
    later = timezone.now() + timedelta(minutes=2)
    assert monitoring.deliver_webhooks(now=later)["delivered"] == 1
    payload, sig, body = Receiver.received[-1]
    assert payload["kind"] == "list_entered" and payload["subject"] == proposal.subject.uscc
    assert sig == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert len(Receiver.received) == 2


def test_serious_record_alerts_and_digest_past_the_threshold(subject, officer, settings):
    settings.CREDITPLUS_ALERTS_PER_DAY = 1
    consumers.run("monitoring")  # the subject's earlier record was read before it was watched
    monitoring.subscribe(officer, [subject.uscc])
    for n in (11, 12):
        ingest_penalty(
            1,
            行政处罚决定书文号=f"沪浦市监处〔2026〕{n}号",
            处罚类别="吊销许可证件",
            暂扣或吊销证照名称及编号=f"许可证 {n}",
        )
    consumers.run("monitoring")
    alerts = Alert.objects.filter(kind="serious_record").order_by("id")
    assert [a.digest for a in alerts] == [False, True]
    assert monitoring.send_digests() == 1
    assert monitoring.send_digests() == 0
    assert Notification.objects.for_user(officer).filter(title__contains="每日汇总").exists()


def test_a_subject_watched_by_two_departments_alerts_each_once(subject, officer, other_officer):
    consumers.run("monitoring")  # the subject's earlier record was read before it was watched
    monitoring.subscribe(officer, [subject.uscc])
    monitoring.subscribe(other_officer, [subject.uscc])
    ingest_penalty(
        1,
        行政处罚决定书文号="沪浦市监处〔2026〕21号",
        处罚类别="吊销许可证件",
        暂扣或吊销证照名称及编号="许可证 21",
    )
    ingest_penalty(1, 行政处罚决定书文号="沪浦市监处〔2026〕22号")  # general: no alert
    consumers.run("monitoring")
    alerts = Alert.objects.filter(kind="serious_record", subject=subject)
    assert sorted(a.department.code for a in alerts) == ["SCJG", "SW"]


def test_failed_deliveries_give_up_after_the_last_retry(proposal, officer, receiver):
    monitoring.subscribe(officer, [proposal.subject.uscc])
    monitoring.set_webhook(officer, receiver)
    alert = monitoring.raise_alerts([(proposal.subject_id, "grade_changed", "等级变化", {})])[0]
    Receiver.statuses = [503] * 10
    now = timezone.now()
    for _ in range(len(monitoring.BACKOFF_MINUTES) + 1):
        monitoring.deliver_webhooks(now=now)
        now += timedelta(days=1)
    delivery = WebhookDelivery.objects.get(alert=alert)
    assert delivery.status == "failed" and delivery.attempts == len(monitoring.BACKOFF_MINUTES) + 1
    assert Subscription.objects.count() == 1


def test_webhooks_must_be_https(officer):
    with pytest.raises(DomainError) as excinfo:
        monitoring.set_webhook(officer, "http://example.com/hook")
    assert excinfo.value.code == "webhook_https"


def test_watch_and_poll_alerts_through_the_api(proposal, officer):
    from creditplus.accounts.services import issue_token
    from tests.conftest import client_for

    token = issue_token("SW", "税务风控系统")
    client = client_for(None)
    auth = {"Authorization": f"Bearer {token.key}"}
    response = client.post(
        "/api/v1/watches",
        data=json.dumps({"subjects": [proposal.subject.uscc, "91110000000000000X"]}),
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 200
    assert response.json() == {"added": 1, "existing": 0, "unknown": ["91110000000000000X"]}
    monitoring.raise_alerts([(proposal.subject_id, "grade_changed", "等级由B变为C", {"to": "C"})])
    alerts = client.get("/api/v1/alerts", headers=auth).json()
    assert [a["title"] for a in alerts] == ["等级由B变为C"]
    # Any offset ISO 8601 allows is read in UTC (schemathesis found a 500 on PostgreSQL,
    # which refuses offsets beyond ±15:59); a time that cannot be converted is a 422.
    odd = {"since": "1440-05-09T09:33:59+18:06"}
    assert [a["title"] for a in client.get("/api/v1/alerts", odd, headers=auth).json()] == [
        "等级由B变为C"
    ]
    early = {"since": "0001-01-01T00:00:00+01:00"}
    assert client.get("/api/v1/alerts", early, headers=auth).status_code == 422
    assert client.get("/api/v1/alerts").status_code == 401
