"""The home page's 双公示 counts, kept incrementally.

Counting the records in publicity reads every record (158 s at Pudong scale). Instead a
run recounts only the subjects changed since the previous run (every change of a record or
of its behavior events — ingest, correction, retraction, restoration — marks its subject)
and moves the difference into :class:`PublicityTally`, keyed by item and last public day, so
that expiry needs no run at all: the count on a day is one sum over a few thousand rows.
The first run (no tally yet) counts every subject once, in chunks of subjects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Q, Sum

from creditplus.catalog.models import CatalogItem
from creditplus.portal.models import HomeStatistics, PublicityTally, SubjectPublicity
from creditplus.records import disclosure
from creditplus.subjects.models import Subject
from creditplus.subjects.services import changed_since

# A writer marks its subjects before it commits: a run re-reads the changes of this long
# before the previous run started, so that a transaction that was still open then (an
# ingest batch, a correction) is not missed. Longer writer transactions are not expected.
CHANGE_MARGIN = timedelta(minutes=15)
CHUNK = 5_000  # subjects per counting query
Counts = dict[str, int]  # "<item id>|<until or empty>" → records


def dual_item_ids() -> dict[str, int]:
    return dict(
        CatalogItem.objects.filter(code__in=disclosure.DUAL_ITEMS).values_list("code", "pk")
    )


def _key(item_id: int, until: date | None) -> str:
    return f"{item_id}|{until.isoformat() if until else ''}"


def count_subjects(subjects: Q) -> dict[int, Counts]:
    """The 双公示 records in publicity of ``subjects`` (a condition on ``subject_id``), per
    subject, by item and last public day."""
    out: dict[int, Counts] = {}
    for subject_id, item_id, until, n in disclosure.publicity_spans(
        subjects, list(dual_item_ids().values())
    ):
        out.setdefault(subject_id, {})[_key(item_id, until)] = n
    return out


def changed_subjects(since: datetime) -> list[int]:
    """Subjects created or changed (the subjects' change log) after ``since``, less the
    margin."""
    return sorted(changed_since(since - CHANGE_MARGIN))


def change_log_read_up_to() -> datetime | None:
    """How far the home statistics have read the change log (with the margin they re-read)."""
    read_at = HomeStatistics.objects.filter(pk=1).values_list("changes_read_at", flat=True)
    first = read_at.first()
    return first - CHANGE_MARGIN if first else None


def count_changes(since: datetime | None) -> tuple[dict[int, Counts], list[int] | None]:
    """New counts of the subjects changed since ``since`` (all subjects when ``None``), and
    the changed ids (``None``: everything was counted). Reads only; :func:`apply_counts`
    writes."""
    counts: dict[int, Counts] = {}
    if since is None:
        last = Subject.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for start in range(0, last + 1, CHUNK):
            counts.update(count_subjects(Q(subject_id__gte=start, subject_id__lt=start + CHUNK)))
        return counts, None
    ids = changed_subjects(since)
    for start in range(0, len(ids), CHUNK):
        counts.update(count_subjects(Q(subject_id__in=ids[start : start + CHUNK])))
    return counts, ids


def _stored(ids: Iterable[int] | None) -> dict[int, Counts]:
    rows = SubjectPublicity.objects.all()
    if ids is None:
        return dict(rows.values_list("subject_id", "counts"))
    ids = list(ids)
    out: dict[int, Counts] = {}
    for start in range(0, len(ids), CHUNK):
        out.update(
            rows.filter(subject_id__in=ids[start : start + CHUNK]).values_list(
                "subject_id", "counts"
            )
        )
    return out


def apply_counts(counts: dict[int, Counts], ids: list[int] | None) -> int:
    """Replace the stored counts of ``ids`` (all subjects when ``None``) by ``counts`` and
    move the difference into the tally. Call inside the run's transaction. Returns the
    number of subjects whose count changed."""
    old = _stored(ids)
    delta: Counter[str] = Counter()
    changed = [s for s in set(old) | set(counts) if old.get(s) != counts.get(s)]
    for s in changed:
        delta.update(counts.get(s, {}))
        delta.subtract(old.get(s, {}))
    if ids is None:
        SubjectPublicity.objects.all().delete()
        PublicityTally.objects.all().delete()
    else:
        for start in range(0, len(changed), CHUNK):
            SubjectPublicity.objects.filter(subject_id__in=changed[start : start + CHUNK]).delete()
    SubjectPublicity.objects.bulk_create(
        (SubjectPublicity(subject_id=s, counts=counts[s]) for s in changed if counts.get(s)),
        batch_size=CHUNK,
    )
    _move_tally(delta)
    return len(changed)


def _move_tally(delta: Counter[str]) -> None:
    tally: Counter[str] = Counter(
        {_key(i, u): n for i, u, n in PublicityTally.objects.values_list("item_id", "until", "n")}
    )
    tally.update({k: v for k, v in delta.items() if v})
    rows = []
    for key, n in tally.items():
        if n < 0:
            raise RuntimeError(f"publicity tally below zero at {key}")
        if n:
            item_id, until = key.split("|")
            rows.append(
                PublicityTally(
                    item_id=int(item_id), until=date.fromisoformat(until) if until else None, n=n
                )
            )
    # A few thousand rows (items × last public days): rewritten whole.
    PublicityTally.objects.all().delete()
    PublicityTally.objects.bulk_create(rows)


def dual_counts(today: date) -> dict[str, int]:
    """The licenses and penalties in publicity on ``today``, from the tally."""
    ids = dual_item_ids()
    published = set(disclosure.published_item_ids())
    sums = dict(
        PublicityTally.objects.filter(item_id__in=[i for i in ids.values() if i in published])
        .filter(Q(until__isnull=True) | Q(until__gte=today))
        .values_list("item_id")
        .annotate(n=Sum("n"))
        .order_by()
    )
    return {
        "licenses": int(sums.get(ids.get(disclosure.LICENSE), 0)),
        "penalties": int(sums.get(ids.get(disclosure.PENALTY), 0)),
    }
