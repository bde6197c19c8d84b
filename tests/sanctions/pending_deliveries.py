"""Set-up of test_webhook_claims.py, run as a subprocess on a committed database: a
department's webhook at the given loopback URL and N alerts with a due delivery each."""

from __future__ import annotations

import sys

import django

django.setup()

from django.utils import timezone  # noqa: E402

from creditplus.accounts.models import Department  # noqa: E402
from creditplus.sanctions.models import Alert, WebhookDelivery, WebhookEndpoint  # noqa: E402
from creditplus.subjects.pii import encrypt  # noqa: E402
from tests.factories import make_organisations  # noqa: E402

url, count = sys.argv[1], int(sys.argv[2])
now = timezone.now()
department = Department.objects.get(code="SW")
endpoint = WebhookEndpoint.objects.create(
    department=department, url=url, secret_cipher=encrypt("secret")
)
subjects = make_organisations(count)
alerts = Alert.objects.bulk_create(
    Alert(department=department, subject=s, kind="list_entered", title=s.name, created_at=now)
    for s in subjects
)
WebhookDelivery.objects.bulk_create(
    WebhookDelivery(alert=a, endpoint=endpoint, next_attempt_at=now) for a in alerts
)
print(",".join(str(d.pk) for d in WebhookDelivery.objects.order_by("pk")))
