"""Triggers of district lists (behavior counted over a period) and the evidence a list takes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from creditplus.catalog.calendar import add_months
from creditplus.catalog.choices import BehaviorKind, Severity
from creditplus.lists.choices import (
    ListKind,
)
from creditplus.lists.models import ListType
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import Subject


@dataclass(frozen=True)
class Trigger:
    kind: str
    count: int
    within_months: int
    severity: str = ""

    def condition(self, today: date) -> Q:
        """The events this trigger counts as of ``today``: in force, of its kind (and
        severity), dated within its period."""
        q = Q(
            status=EventStatus.ACTIVE,
            kind=self.kind,
            occurred_on__gt=add_months(today, -self.within_months),
            occurred_on__lte=today,
        )
        return q & Q(severity=self.severity) if self.severity else q

    def window(self, events: QuerySet[CreditEvent], today: date) -> QuerySet[CreditEvent]:
        """The ``events`` this trigger counts as of ``today``."""
        return events.filter(self.condition(today))

    def events(self, subjects: Iterable[int], today: date) -> QuerySet[CreditEvent]:
        """The events of ``subjects`` (ids) this trigger counts."""
        return self.window(CreditEvent.objects.filter(subject_id__one_of=list(subjects)), today)

    def met_by(self, subjects: QuerySet[Subject], today: date) -> QuerySet[Subject]:
        """The ``subjects`` that meet this trigger as of ``today``. Counted per subject (a
        correlated subquery), so that each subject's events are read from the covering
        index: as one grouped count over the subjects' events, PostgreSQL's planner scanned
        every event of the kind instead (0.25–0.8 s a statement at Pudong scale). Rows are
        counted, not ids: the index does not hold the id, and ``COUNT(id)`` made PostgreSQL
        visit every counted event's table row (one page each, at random) where ``COUNT(*)``
        reads the index alone."""
        counted = (
            self.window(CreditEvent.objects.filter(subject_id=OuterRef("pk")), today)
            .order_by()
            .values("subject_id")
            .annotate(n=Count("*"))
            .values("n")
        )
        return subjects.annotate(counted=Subquery(counted)).filter(counted__gte=self.count)

    def counts(self, kind: str, severity: str) -> bool:
        """Whether an event of ``kind`` and ``severity`` is one this trigger counts."""
        return kind == self.kind and (not self.severity or severity == self.severity)

    def describe(self) -> str:
        from creditplus.catalog.choices import BehaviorKind, Severity

        what = BehaviorKind(self.kind).label
        if self.severity:
            what = f"{Severity(self.severity).label}{what}"
        return _("近%(m)d个月内%(what)s %(n)d 次以上") % {
            "m": self.within_months,
            "what": what,
            "n": self.count,
        }


def parse_triggers(raw: list[dict[str, Any]]) -> list[Trigger]:
    return [Trigger(**t) for t in raw]


SEVERITY_ORDER = (Severity.MINOR, Severity.GENERAL, Severity.SERIOUS)


def evidence_filter(list_type: ListType) -> Q:
    """Events that may prove inclusion in ``list_type``: in force, of the behavior kind one of
    its triggers counts, and for untrustworthy behavior at least as severe as the trigger
    asks (a serious violation also proves a watch list's "general" one). A list without
    triggers takes the behavior of its kind (red: trustworthy, else untrustworthy)."""
    triggers = parse_triggers(list_type.triggers or [])
    if not triggers:
        kind = (
            BehaviorKind.TRUSTWORTHY
            if list_type.kind == ListKind.RED
            else BehaviorKind.UNTRUSTWORTHY
        )
        triggers = [Trigger(kind=kind, count=1, within_months=0)]
    condition = Q(pk__in=[])
    for t in triggers:
        part = Q(kind=t.kind)
        if t.severity and t.kind == BehaviorKind.UNTRUSTWORTHY:
            part &= Q(severity__in=SEVERITY_ORDER[SEVERITY_ORDER.index(t.severity) :])
        elif t.severity:
            part &= Q(severity=t.severity)
        condition |= part
    return Q(status=EventStatus.ACTIVE) & condition


def eligible_evidence(
    list_type: ListType, records: QuerySet[CreditRecord]
) -> QuerySet[CreditRecord]:
    """The ``records`` that may be evidence for ``list_type``: those classified by the
    behavior list as behavior that fits the list's criteria (see :func:`evidence_filter`)."""
    events = CreditEvent.objects.filter(evidence_filter(list_type)).values("record_id")
    return records.filter(pk__in=events)


def evidence_kind_label(list_type: ListType) -> str:
    """What evidence the list takes, in words (e.g. 一般及以上失信行为)."""
    triggers = parse_triggers(list_type.triggers or [])
    if not triggers:
        kind = (
            BehaviorKind.TRUSTWORTHY
            if list_type.kind == ListKind.RED
            else BehaviorKind.UNTRUSTWORTHY
        )
        return str(kind.label)
    parts = []
    for t in triggers:
        what = str(BehaviorKind(t.kind).label)
        if t.severity and t.kind == BehaviorKind.UNTRUSTWORTHY and t.severity != Severity.SERIOUS:
            what = _("%(s)s及以上%(what)s") % {"s": Severity(t.severity).label, "what": what}
        elif t.severity:
            what = f"{Severity(t.severity).label}{what}"
        if what not in parts:
            parts.append(what)
    return "、".join(parts)
