"""A district list's trigger is met per subject (``Trigger.met_by``): the events of its kind
and severity, in force, dated in its period, counted against its threshold; automatic
proposals skip subjects of other kinds and subjects already proposed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from creditplus.accounts.models import Department
from creditplus.lists.events import proposable
from creditplus.lists.models import ListEntry, ListType
from creditplus.lists.triggers import Trigger
from creditplus.records import consumers
from creditplus.subjects.models import Subject
from tests.lists.fixtures import NAMES, ingest_item
from tests.records.files import ORG_USCC

pytestmark = pytest.mark.django_db

TWO_GENERAL_IN_A_YEAR = Trigger(kind="untrustworthy", severity="general", count=2, within_months=12)


@pytest.fixture
def organisations(reference):
    return [
        Subject.objects.create(kind="legal", uscc=uscc, name=name, registered=True)
        for uscc, name in zip(ORG_USCC, NAMES, strict=False)
    ]


def met(trigger: Trigger) -> set[str]:
    subjects = trigger.met_by(Subject.objects.all(), timezone.localdate())
    return set(subjects.values_list("uscc", flat=True))


def test_a_trigger_counts_only_events_of_its_kind_severity_and_period(organisations):
    # Subject 0: two general penalties this year. Subject 1: one this year, one two years
    # ago. Subject 2: two minor penalties this year (another severity).
    stream = [
        ("general", 0, 10),
        ("general", 0, 40),
        ("general", 1, 10),
        ("general", 1, 700),
        ("minor", 2, 10),
        ("minor", 2, 20),
    ]
    for n, item in enumerate(stream, start=1):
        ingest_item(n, item)
    assert met(TWO_GENERAL_IN_A_YEAR) == {ORG_USCC[0]}
    assert met(Trigger(kind="untrustworthy", severity="general", count=2, within_months=36)) == {
        ORG_USCC[0],
        ORG_USCC[1],
    }
    assert met(Trigger(kind="untrustworthy", severity="minor", count=2, within_months=12)) == {
        ORG_USCC[2]
    }
    assert (
        met(Trigger(kind="untrustworthy", severity="general", count=3, within_months=36)) == set()
    )


def test_a_proposal_is_made_once_and_only_for_the_list_s_subject_kinds(organisations):
    watch = ListType.objects.get(code="ZDGZ")  # two general penalties within 12 months
    for n, item in enumerate([("general", 0, 10), ("general", 0, 40), ("general", 1, 10)], 1):
        ingest_item(n, item)
    consumers.run("lists")
    proposed = ListEntry.objects.filter(list_type=watch, origin="auto")
    assert list(proposed.values_list("subject__uscc", flat=True)) == [ORG_USCC[0]]

    # A third penalty of the same subject: it is proposed already, nothing new.
    ingest_item(4, ("general", 0, 5))
    consumers.run("lists")
    assert proposed.count() == 1

    # A list for individual businesses only proposes no organisation, whatever its events.
    blacklist = ListType.objects.get(code="YZSX")  # one serious penalty within 12 months
    blacklist.subject_kinds = ["individual"]
    blacklist.save(update_fields=["subject_kinds"])
    ingest_item(5, ("serious", 2, 5))
    consumers.run("lists")
    assert not ListEntry.objects.filter(list_type=blacklist, subject__uscc=ORG_USCC[2]).exists()


def test_only_a_live_entry_of_the_same_list_not_imported_blocks_a_proposal(organisations):
    """The exclusion is a probe per subject (NOT EXISTS in ``entry_list_subject``): a removed
    entry, an imported one, or a live entry of another list leaves the subject proposable;
    a manual proposal on the same list does not."""
    watch, blacklist = ListType.objects.get(code="ZDGZ"), ListType.objects.get(code="YZSX")
    department = Department.objects.get(code="SCJG")
    now = timezone.now()

    def entry(subject: Subject, list_type: ListType, origin: str, status: str) -> None:
        ListEntry.objects.create(
            list_type=list_type,
            subject=subject,
            origin=origin,
            status=status,
            department=department,
            reason="测试",
            source_key=f"{subject.pk}-{origin}",
            proposed_at=now,
            proposed_by="测试",
        )

    first, second, third = organisations[:3]
    entry(first, watch, "auto", "removed")
    entry(first, blacklist, "manual", "published")
    entry(second, watch, "imported", "published")
    entry(third, watch, "manual", "noticed")
    for subject in range(3):  # two general penalties each, within a year
        ingest_item(2 * subject + 1, ("general", subject, 10))
        ingest_item(2 * subject + 2, ("general", subject, 40))
    consumers.run("lists")

    proposed = ListEntry.objects.filter(list_type=watch, origin="auto", status="proposed")
    assert sorted(proposed.values_list("subject__uscc", flat=True)) == sorted(ORG_USCC[:2])


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's plan; PostgreSQL plans by statistics"
)
def test_whether_a_subject_is_on_the_list_is_one_index_probe_not_a_read_of_the_list(reference):
    """The exclusion's cost follows the subjects asked about, not the list's size: SQLite
    cannot use the partial unique index with the statuses as parameters, and without
    ``entry_list_subject`` it walked every entry of the list for each subject."""
    chunk = list(range(1, 101))
    sql, params = (
        proposable(ListType.objects.get(code="ZDGZ"))
        .filter(pk__one_of=chunk)
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = "\n".join(row[-1] for row in cursor.fetchall())
    assert "USING COVERING INDEX entry_list_subject (list_type_id=? AND subject_id=?" in plan
    assert "lists_listentry_list_type_id" not in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index-only scan")
def test_a_trigger_counts_a_subject_s_events_from_the_covering_index_alone(organisations):
    """PostgreSQL reads a table row for every counted event unless the count needs nothing
    but the index (``COUNT(id)`` did: the id is not in ``event_subject_kind``), which at
    Pudong scale was one random page per event of every subject a daily batch touches."""
    ingest_item(1, ("general", 0, 10))
    subjects = Subject.objects.filter(pk__in=[s.pk for s in organisations])
    sql, params = (
        TWO_GENERAL_IN_A_YEAR.met_by(subjects, timezone.localdate())
        .values("pk")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # Only the index left to read the events by (whatever the statistics say); the planner
        # makes its scan index-only when the statement needs nothing else.
        for scan in ("seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using event_subject_kind" in plan
