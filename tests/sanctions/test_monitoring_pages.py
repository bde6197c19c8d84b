"""The monitoring pages: subscribe by codes or a file, see alerts, set the webhook."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creditplus.sanctions import monitoring
from creditplus.sanctions.models import Subscription, WebhookEndpoint
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_subscribe_from_a_file_and_see_unknown_codes(subject, officer, other_officer):
    client = client_for(officer)
    upload = SimpleUploadedFile("codes.csv", f"{subject.uscc}\n91110000000000000X\n".encode())
    response = client.post("/backoffice/sanctions/watches/", {"file": upload, "note": "许可对象"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "91110000000000000X" in page and subject.name in page
    assert Subscription.objects.get().department == officer.department
    # Another department neither sees nor removes it.
    assert (
        subject.name
        not in client_for(other_officer).get("/backoffice/sanctions/watches/").content.decode()
    )
    pk = Subscription.objects.get().pk
    assert (
        client_for(other_officer).post(f"/backoffice/sanctions/watches/{pk}/delete/").status_code
        == 404
    )
    assert client.post(f"/backoffice/sanctions/watches/{pk}/delete/").status_code == 302
    assert not Subscription.objects.exists()


def test_alerts_page_and_webhook_secret_shown_once(subject, officer, window_clerk):
    monitoring.subscribe(officer, [subject.uscc])
    monitoring.raise_alerts([(subject.pk, "grade_changed", "等级由B变为C", {})])
    client = client_for(officer)
    assert "等级由B变为C" in client.get("/backoffice/sanctions/alerts/").content.decode()
    response = client.post("/backoffice/sanctions/webhook/", {"url": "https://example.org/hook"})
    page = response.content.decode()
    assert "仅显示一次" in page
    assert WebhookEndpoint.objects.get().url == "https://example.org/hook"
    assert "仅显示一次" not in client.get("/backoffice/sanctions/webhook/").content.decode()
    refused = client.post("/backoffice/sanctions/webhook/", {"url": "http://example.org/hook"})
    assert "HTTPS" in refused.content.decode()
    assert client_for(window_clerk).get("/backoffice/sanctions/alerts/").status_code == 403
