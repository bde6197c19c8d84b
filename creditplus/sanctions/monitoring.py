"""信用预警 (monitoring): departments watch subjects; when a watched subject enters or leaves
a list, receives a serious untrustworthy record, or changes grade, the department gets an
alert in its inbox and, if it configured one, a signed webhook call (retried with backoff,
every attempt logged). Past a daily threshold, alerts go into one daily digest instead."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify
from creditplus.bulk import chunked
from creditplus.catalog.choices import BehaviorKind, Severity
from creditplus.errors import DomainError, Forbidden
from creditplus.evaluation.services import GradeChange
from creditplus.identifiers import check_resident_id
from creditplus.lists.choices import EntryStatus
from creditplus.lists.models import ListEntry
from creditplus.records import consumers
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent
from creditplus.sanctions.models import (
    Alert,
    AlertKind,
    DeliveryStatus,
    Subscription,
    WebhookDelivery,
    WebhookEndpoint,
)
from creditplus.subjects.models import Subject
from creditplus.subjects.pii import decrypt, encrypt, lookup_hash

MAX_WATCH_CODES = 50_000
# Minutes to wait before each retry of a failed webhook call; then the delivery has failed.
BACKOFF_MINUTES = (1, 5, 30, 120, 720)


def alerts_per_day() -> int:
    """Alerts a department gets one by one per day; the rest go into the daily digest."""
    return settings.CREDITPLUS_ALERTS_PER_DAY


def _department(user: Any, perm: str) -> Department:
    require_perm(user, perm)
    if not user.department_id:
        raise Forbidden(_("信用预警须以部门身份订阅"))
    return user.department


# --------------------------------------------------------------------------- subscriptions


@dataclass
class SubscribeResult:
    added: int = 0
    existing: int = 0
    unknown: list[str] = field(default_factory=list)


@transaction.atomic
def subscribe(user: Any, codes: list[str], note: str = "") -> SubscribeResult:
    """Watch the subjects with these codes (USCC or resident ID); unknown codes are returned,
    not silently dropped."""
    department = _department(user, "sanctions.add_subscription")
    cleaned = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    if not cleaned:
        raise DomainError("codes_required", _("请提供要订阅的主体代码"), "codes")
    if len(cleaned) > MAX_WATCH_CODES:
        raise DomainError(
            "too_many", _("一次最多订阅 %(n)d 个主体") % {"n": MAX_WATCH_CODES}, "codes"
        )
    persons = {c: lookup_hash(c) for c in cleaned if len(c) == 18 and check_resident_id(c).ok}
    usccs = [c for c in cleaned if c not in persons]
    found: dict[str, int] = {}
    for i in range(0, len(usccs), 900):
        found.update(Subject.objects.filter(uscc__in=usccs[i : i + 900]).values_list("uscc", "pk"))
    by_hash = {h: c for c, h in persons.items()}
    hashes = list(by_hash)
    for i in range(0, len(hashes), 900):
        for id_hash, pk in Subject.objects.filter(id_hash__in=hashes[i : i + 900]).values_list(
            "id_hash", "pk"
        ):
            found[by_hash[id_hash]] = pk
    result = SubscribeResult(unknown=[c for c in cleaned if c not in found])
    watched = set(
        Subscription.objects.filter(department=department).values_list("subject_id", flat=True)
    )
    now = timezone.now()
    actor = audit.current_context().actor_name
    new = [
        Subscription(
            department=department,
            subject_id=pk,
            note=note[:200],
            created_at=now,
            created_by=actor,
        )
        for pk in dict.fromkeys(found.values())
        if pk not in watched
    ]
    result.existing = len(set(found.values())) - len(new)
    created = Subscription.objects.bulk_create(new, batch_size=1000)
    result.added = len(created)
    audit.record_many(
        "watch.subscribe",
        [audit.Change(obj=s, after={"subject": s.subject_id, "note": note[:200]}) for s in created],
    )
    return result


@transaction.atomic
def unsubscribe(user: Any, subscription: Subscription) -> None:
    """Stop watching a subject."""
    department = _department(user, "sanctions.delete_subscription")
    if subscription.department_id != department.pk:
        raise Forbidden()
    audit.record("watch.unsubscribe", obj=subscription, before={"subject": subscription.subject_id})
    subscription.delete()


def subscriptions_for(user: Any) -> QuerySet[Subscription]:
    """The subscriptions ``user`` may see (own department, or all)."""
    return restrict(Subscription.objects.all(), user).select_related("subject", "department")


def alerts_for(user: Any) -> QuerySet[Alert]:
    """The alerts ``user`` may see (own department, or all)."""
    return restrict(Alert.objects.all(), user).select_related("subject", "department")


@transaction.atomic
def set_webhook(user: Any, url: str) -> str:
    """Configure (or replace) the department's webhook; returns the new signing secret, which
    is shown once and stored encrypted."""
    department = _department(user, "sanctions.change_webhookendpoint")
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise DomainError("webhook_https", _("回调地址须使用 HTTPS"), "url")
    secret = secrets.token_urlsafe(32)
    endpoint, created = WebhookEndpoint.objects.update_or_create(
        department=department,
        defaults={"url": url, "secret_cipher": encrypt(secret), "is_active": True},
    )
    audit.record("watch.webhook", obj=endpoint, after={"url": url, "created": created})
    return secret


# --------------------------------------------------------------------------- alerts


def raise_alerts(
    events: list[tuple[int, str, str, dict[str, Any]]], now: datetime | None = None
) -> list[Alert]:
    """Alert every department watching the subject of each (subject id, kind, title, detail).
    Called by the list and event listeners and, later, by the evaluation on grade changes."""
    if not events:
        return []
    now = now or timezone.now()
    subject_ids = list({e[0] for e in events})
    watchers: dict[int, list[int]] = {}
    for i in range(0, len(subject_ids), 900):
        for subject_id, department_id in Subscription.objects.filter(
            subject_id__in=subject_ids[i : i + 900]
        ).values_list("subject_id", "department_id"):
            watchers.setdefault(subject_id, []).append(department_id)
    if not watchers:
        return []
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = Counter(
        dict(
            Alert.objects.filter(created_at__gte=start_of_day, digest=False)
            .values("department_id")
            .annotate(n=Count("id"))
            .values_list("department_id", "n")
        )
    )
    limit = alerts_per_day()
    alerts = []
    for subject_id, kind, title, detail in events:
        for department_id in watchers.get(subject_id, []):
            digest = sent_today[department_id] >= limit
            if not digest:
                sent_today[department_id] += 1
            alerts.append(
                Alert(
                    department_id=department_id,
                    subject_id=subject_id,
                    kind=kind,
                    title=title[:200],
                    detail=detail,
                    created_at=now,
                    digest=digest,
                )
            )
    alerts = Alert.objects.bulk_create(alerts, batch_size=1000)
    for alert in alerts:
        if not alert.digest:
            notify(
                _("信用预警：%(t)s") % {"t": alert.title},
                json.dumps(alert.detail, ensure_ascii=False),
                "/backoffice/sanctions/alerts/",
                department=Department(pk=alert.department_id),
            )
    endpoints = dict(
        WebhookEndpoint.objects.filter(
            is_active=True, department_id__in={a.department_id for a in alerts}
        ).values_list("department_id", "pk")
    )
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(alert=a, endpoint_id=endpoints[a.department_id], next_attempt_at=now)
            for a in alerts
            if a.department_id in endpoints
        ],
        batch_size=1000,
    )
    return alerts


def _watched(subject_ids: list[int]) -> set[int]:
    """The subjects among ``subject_ids`` that some department watches."""
    watched: set[int] = set()
    for chunk in chunked(sorted(set(subject_ids)), 900):
        watched.update(
            Subscription.objects.filter(subject_id__in=chunk).values_list("subject_id", flat=True)
        )
    return watched


def on_membership_change(entries: list[ListEntry]) -> None:
    """Listener of the lists app: alert the watchers of subjects entering (measures apply)
    or leaving a list."""
    watched = _watched([e.subject_id for e in entries])
    changes = []
    for e in entries:
        if e.subject_id not in watched:
            continue  # no alert to raise: an import's thousands of entries need no title
        if e.is_effective:
            kind, title = AlertKind.LIST_ENTERED, _("%(s)s 列入%(l)s")
        elif e.status == EntryStatus.REMOVED:
            kind, title = AlertKind.LIST_LEFT, _("%(s)s 移出%(l)s")
        else:
            continue
        detail = {
            "list_type": e.list_type.code,
            "status": e.status,
            "decision_no": e.decision_no,
            "end_reason": e.end_reason,
        }
        changes.append(
            (e.subject_id, kind, title % {"s": e.subject.name, "l": e.list_type.name}, detail)
        )
    raise_alerts(changes)


def on_grade_change(changes: list[GradeChange]) -> None:
    """Listener of the evaluation: alert the watchers of subjects whose grade under the active
    model changed. Only watched subjects are looked up (a run may change thousands)."""
    watched = _watched([c.subject_id for c in changes])
    relevant = [c for c in changes if c.subject_id in watched]
    names = dict(
        Subject.objects.filter(pk__in=[c.subject_id for c in relevant]).values_list("pk", "name")
    )
    raise_alerts(
        [
            (
                c.subject_id,
                AlertKind.GRADE_CHANGED,
                _("%(s)s 信用等级由 %(old)s 变为 %(new)s")
                % {"s": names.get(c.subject_id, ""), "old": c.old, "new": c.new},
                {"old": c.old, "new": c.new, "score": c.score},
            )
            for c in relevant
        ]
    )


def consume_events(window: consumers.EventWindow) -> None:
    """Consumer of behavior events: alert the watchers of new serious untrustworthy records."""
    rows = CreditEvent.objects.filter(
        consumers.in_window(window),
        status=EventStatus.ACTIVE,
        kind=BehaviorKind.UNTRUSTWORTHY,
        severity=Severity.SERIOUS,
        # A condition on the event itself, not a join: joined, SQLite read each serious
        # event's subject, rule and record before looking for a watcher (1.1 s a window
        # of 250,000 events at Pudong scale, with no one watching; 0.08 s as a condition).
        subject_id__in=Subscription.objects.values("subject_id"),
    ).values_list(
        "subject_id",
        "subject__name",
        "rule__name",
        "record__item__name",
        "occurred_on",
        "record_id",
    )
    raise_alerts(
        [
            (
                subject_id,
                AlertKind.SERIOUS_RECORD,
                _("%(s)s 新增严重失信记录：%(r)s") % {"s": name, "r": rule},
                {"item": item, "rule": rule, "date": occurred.isoformat(), "record": record_id},
            )
            for subject_id, name, rule, item, occurred, record_id in rows
        ]
    )


# --------------------------------------------------------------------------- delivery


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``: receivers recompute it with their secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _body(alert: Alert) -> bytes:
    return json.dumps(
        {
            "alert": alert.pk,
            "kind": alert.kind,
            "subject": alert.subject.code,
            "subject_name": alert.subject.public_name,
            "title": alert.title,
            "detail": alert.detail,
            "created_at": alert.created_at.isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


# A claimed delivery is not due again for this long: longer than one run's sends take, so
# that an overlapping run skips it, yet a run that died mid-send is retried after it.
CLAIM_LEASE = timedelta(minutes=10)


def deliver_webhooks(now: datetime | None = None, timeout: float = 5.0) -> Counter[str]:
    """Send due webhook deliveries; a failure is retried after 1, 5, 30, 120 and 720
    minutes, then marked failed. Each attempt updates the delivery log. Overlapping runs
    (cron every 5 minutes, a slow receiver) send each delivery once: see ``_claim``."""
    now = now or timezone.now()
    outcome: Counter[str] = Counter()
    due = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).select_related("alert__subject", "endpoint")
    for delivery in due:
        if not _claim(delivery, now):
            continue  # another run took it since we listed it
        ok = _send(delivery, timeout)
        if ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
        elif delivery.attempts > len(BACKOFF_MINUTES):
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(
                minutes=BACKOFF_MINUTES[delivery.attempts - 1]
            )
        delivery.save()
        outcome[delivery.status] += 1
    return outcome


def _claim(delivery: WebhookDelivery, now: datetime) -> bool:
    """Take ``delivery`` for this run with one conditional UPDATE (autocommit): it counts
    the attempt and moves the next attempt past the lease. A concurrent run's UPDATE then
    matches no row (PostgreSQL re-checks the condition after the first commits; SQLite has
    one writer at a time), so only one run sends it."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=DeliveryStatus.PENDING,
        attempts=delivery.attempts,
        next_attempt_at__lte=now,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE)
    if claimed:
        delivery.attempts += 1
        delivery.next_attempt_at = now + CLAIM_LEASE
    return bool(claimed)


def _send(delivery: WebhookDelivery, timeout: float) -> bool:
    """POST the signed alert; record the status code or error on ``delivery``."""
    body = _body(delivery.alert)
    request = urllib.request.Request(  # noqa: S310 (set_webhook allows https only)
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Creditplus-Signature": signature(decrypt(delivery.endpoint.secret_cipher), body),
            "X-Creditplus-Delivery": str(delivery.pk),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            delivery.last_status_code = response.status
            delivery.last_error = ""
            return 200 <= response.status < 300
    except urllib.error.HTTPError as exc:
        delivery.last_status_code = exc.code
        delivery.last_error = str(exc)[:300]
    except (urllib.error.URLError, OSError) as exc:
        delivery.last_status_code = None
        delivery.last_error = str(exc)[:300]
    return False


def send_digests(now: datetime | None = None) -> int:
    """One daily-digest notification per department for the alerts held back today."""
    now = now or timezone.now()
    held = Alert.objects.filter(digest=True, digested_at__isnull=True, created_at__lte=now)
    counts: dict[int, Counter[str]] = {}
    for department_id, kind in held.values_list("department_id", "kind"):
        counts.setdefault(department_id, Counter())[kind] += 1
    for department_id, kinds in counts.items():
        notify(
            _("信用预警每日汇总：%(n)d 条") % {"n": sum(kinds.values())},
            "；".join(f"{AlertKind(k).label} {n} 条" for k, n in sorted(kinds.items())),
            "/backoffice/sanctions/alerts/?digest=1",
            department=Department(pk=department_id),
        )
    held.update(digested_at=now)
    return len(counts)
