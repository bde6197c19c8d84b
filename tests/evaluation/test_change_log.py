"""The subjects' change log: a batch marks its subjects changed without updating their rows,
`evaluate --changed` re-scores exactly the marked subjects and trims what every model in use
has read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditplus.evaluation import services
from creditplus.evaluation.choices import RunMode
from creditplus.evaluation.models import EvaluationModel, Score
from creditplus.subjects.models import Subject, SubjectChange
from creditplus.subjects.services import touch_subjects
from tests.lists.fixtures import ingest_penalty

TODAY = timezone.localdate()


@pytest.fixture
def three(reference) -> list[Subject]:
    """Three organisations, each with a general fine."""
    return [ingest_penalty(n, decided=TODAY - timedelta(days=30)).subject for n in (1, 2, 3)]


def fine(subject: Subject, n: int) -> None:
    ingest_penalty(
        n,
        decided=TODAY - timedelta(days=5),
        统一社会信用代码=subject.uscc,
        行政相对人名称=subject.name,
    )


def test_a_batch_for_known_subjects_updates_no_subject_row(three):
    first = three[0]
    stamp = Subject.objects.get(pk=first.pk).changed_at
    with CaptureQueriesContext(connection) as queries:
        fine(first, 10)
    updates = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert not [sql for sql in updates if "subjects_subject" in sql]
    assert Subject.objects.get(pk=first.pk).changed_at == stamp
    assert SubjectChange.objects.filter(subject=first).exists()


def test_an_incremental_run_rescores_exactly_the_marked_subjects(three):
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    fine(three[0], 10)
    fine(three[2], 11)
    run = services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert run.evaluated == 2
    rescored = set(Score.objects.filter(run=run).values_list("subject_id", flat=True))
    assert rescored == {three[0].pk, three[2].pk}
    # The run read the log up to its start: nothing is left for the next one.
    assert not SubjectChange.objects.filter(at__lt=run.started_at).exists()
    assert services.evaluate(mode=RunMode.CHANGED, as_of=TODAY).evaluated == 0


def test_the_log_is_kept_until_every_model_in_use_has_read_it(three):
    draft = EvaluationModel.objects.get(code="CPE-2027-DRAFT")
    services.evaluate(mode=RunMode.ALL, model=draft, as_of=TODAY)
    services.evaluate(mode=RunMode.ALL, as_of=TODAY)
    # A change the draft model has not evaluated yet (before the active model's last run,
    # after the draft's).
    draft_run = draft.runs.get()
    touch_subjects([three[1].pk], draft_run.started_at + timedelta(microseconds=1))
    services.evaluate(mode=RunMode.CHANGED, as_of=TODAY)
    assert SubjectChange.objects.filter(subject=three[1]).exists()
    run = services.evaluate(mode=RunMode.CHANGED, model=draft, as_of=TODAY)
    assert set(Score.objects.filter(run=run).values_list("subject_id", flat=True)) == {three[1].pk}
    assert not SubjectChange.objects.filter(subject=three[1]).exists()
