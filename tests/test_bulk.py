"""creditplus/bulk.py writes rows without model instances; what it stores must be what the
ORM stores. For every model the product writes through it (and a model with a decimal
field), one row is written through each bulk path and through ``bulk_create``, each in a
savepoint that is rolled back, and the stored rows are compared column by column."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, models, transaction

from creditplus import bulk
from creditplus.accounts.models import AuditEvent
from creditplus.lists.models import ListEntry, ListTransition
from creditplus.sanctions import checks
from creditplus.sanctions.models import CreditCheck, SanctionCase, SanctionTask
from creditplus.subjects.models import Subject
from tests.factories import make_organisations
from tests.sanctions.conftest import procurement_officer, publish  # noqa: F401

pytestmark = pytest.mark.django_db

Evidence = ListEntry.evidence.through

# auto_now fields take the time of the write; the clock stands still during the writes.
FROZEN = datetime(2026, 11, 27, 2, 3, 4, 567000, tzinfo=UTC)


def auto_now_fields(model: type[models.Model]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]


def stored(model: type[models.Model], pk: int) -> dict[str, Any]:
    """The row as the database holds it, every column but the id."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [c[0] for c in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    row.pop("id")
    return row


def written(model: type[models.Model], values: dict[str, Any], write: Callable) -> dict:
    """Write ``values`` with ``write`` in a savepoint (the source row removed first, so that
    no unique constraint sees two), read the row back, and roll it all back."""
    values = {**values, **{name: FROZEN for name in auto_now_fields(model)}}
    if model is AuditEvent:  # append-only, so the copy gets a new id (no unique constraint)
        values.pop("id")
    savepoint = transaction.savepoint()
    try:
        if "id" in values:
            # Plain SQL: the rows that refer to it stay (foreign keys are checked at commit).
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE id = %s", [values["id"]])
        return stored(model, write(dict(values)))
    finally:
        transaction.savepoint_rollback(savepoint)


def by_bulk_create(model: type[models.Model]) -> Callable:
    def write(values: dict[str, Any]) -> int:
        obj = model(**values)
        model.objects.bulk_create([obj])
        return obj.pk

    return write


def by_insert_rows(model: type[models.Model]) -> Callable:
    def write(values: dict[str, Any]) -> int:
        if "id" not in values:
            values["id"] = bulk.reserve_ids(model._meta.db_table, 1)[0]
        bulk.insert_rows(model, [values])
        return values["id"]

    return write


def by_insert_row(model: type[models.Model]) -> Callable:
    def write(values: dict[str, Any]) -> int:
        values.pop("id", None)
        return bulk.insert_row(model, values)

    return write


def by_create_instances(model: type[models.Model]) -> Callable:
    def write(values: dict[str, Any]) -> int:
        values.pop("id", None)
        (obj,) = bulk.create_instances([model(**values)])
        assert not obj._state.adding and obj._state.db == connection.alias
        assert model.objects.filter(pk=obj.pk).exists()
        return obj.pk

    return write


@pytest.fixture
def rows(proposal, officer, procurement_officer) -> dict[type[models.Model], dict]:  # noqa: F811
    """One real row of each model, written by the product's own flows."""
    publish(proposal, officer)
    checks.check_subject(procurement_officer, proposal.subject.uscc, "ZFCG", "资格审查")
    subject = Subject.objects.get(pk=proposal.subject_id)
    Subject.objects.filter(pk=subject.pk).update(registered_capital=Decimal("1234.5600"))
    found = {}
    for model in (AuditEvent, CreditCheck, SanctionTask, SanctionCase, ListEntry, ListTransition):
        found[model] = model.objects.order_by("-pk").values()[0]
    found[Evidence] = Evidence.objects.values().first()
    found[Subject] = Subject.objects.filter(pk=subject.pk).values().get()
    return found


PATHS = [
    (AuditEvent, by_insert_row),
    (AuditEvent, by_insert_rows),
    (CreditCheck, by_insert_row),
    (CreditCheck, by_insert_rows),
    (SanctionTask, by_insert_rows),
    (SanctionCase, by_create_instances),
    (ListEntry, by_create_instances),
    (ListTransition, by_create_instances),
    (Evidence, by_create_instances),
    (Subject, by_insert_rows),  # a decimal field (registered capital)
]


@pytest.mark.parametrize(
    ("model", "path"), PATHS, ids=[f"{m.__name__}-{p.__name__}" for m, p in PATHS]
)
def test_the_bulk_path_stores_what_bulk_create_stores(rows, model, path, time_machine):
    time_machine.move_to(FROZEN, tick=False)
    values = rows[model]
    assert values is not None
    expected = written(model, values, by_bulk_create(model))
    assert written(model, values, path(model)) == expected


def test_decimals_are_stored_exactly(rows, time_machine):
    time_machine.move_to(FROZEN, tick=False)
    values = {**rows[Subject], "registered_capital": Decimal("98765432.1234")}
    row = written(Subject, values, by_insert_rows(Subject))
    assert Decimal(str(row["registered_capital"])) == Decimal("98765432.1234")
    assert row == written(Subject, values, by_bulk_create(Subject))


def test_an_unsupported_field_type_is_refused_by_name():
    from creditplus.integrity.models import AssessorScore

    with pytest.raises(TypeError, match="is not supported"):
        bulk.model_frame(AssessorScore, [{"id": 1}])


# --------------------------------------------------------------------------- hot-path helpers


def test_a_loaded_instance_is_what_the_orm_loads_with_only():
    (subject,) = make_organisations(1)
    instance = bulk.loaded(Subject, id=subject.pk, name=subject.name)
    orm = Subject.objects.only("id", "name").get(pk=subject.pk)
    assert instance == orm and not instance._state.adding
    assert instance._state.db == orm._state.db
    assert instance.get_deferred_fields() == orm.get_deferred_fields()
    assert instance.uscc == subject.uscc  # a deferred field is read on access


def test_a_model_with_init_receivers_is_loaded_through_its_init():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    models.signals.post_init.connect(receiver, sender=Subject)
    try:
        instance = bulk.loaded(Subject, id=1, name="某公司")
    finally:
        models.signals.post_init.disconnect(receiver, sender=Subject)
    assert seen == [instance]


def test_a_new_instance_is_what_the_model_builds_from_the_same_arguments():
    (subject,) = make_organisations(1)
    values = {"subject": subject, "origin": "auto", "reason": "列入名单", "initiated_by": "system"}
    fast, orm = bulk.new_instance(SanctionCase, **values), SanctionCase(**values)
    fields = [f.attname for f in SanctionCase._meta.concrete_fields]
    assert {f: getattr(fast, f) for f in fields} == {f: getattr(orm, f) for f in fields}
    assert fast._state.adding and fast._state.db is None
    assert fast.subject is subject  # held as given, not read again
    with pytest.raises(TypeError, match="unexpected keyword argument 'subjekt'"):
        bulk.new_instance(SanctionCase, subjekt=subject)


def test_new_instances_are_saved_by_create_instances_as_the_orm_saves_them():
    (subject,) = make_organisations(1)
    values = {
        "subject_id": subject.pk,
        "origin": "auto",
        "reason": "列入名单",
        "initiated_at": FROZEN,
    }
    [fast] = bulk.create_instances([bulk.new_instance(SanctionCase, **values)])
    [orm] = SanctionCase.objects.bulk_create([SanctionCase(**values)])
    assert stored(SanctionCase, fast.pk) == stored(SanctionCase, orm.pk)


def test_one_of_selects_what_in_selects_in_one_statement(django_assert_num_queries):
    subjects = make_organisations(3)
    ids = [s.pk for s in subjects] + list(range(10**9, 10**9 + 3000))  # past 999 parameters
    with django_assert_num_queries(1):
        found = list(Subject.objects.filter(pk__one_of=ids).order_by("pk"))
    assert found == list(Subject.objects.filter(pk__in=ids).order_by("pk")) == subjects
    # A foreign key, by attname and by name (the consumer tests select through these).
    assert not ListEntry.objects.filter(subject_id__one_of=ids, subject__one_of=ids).exists()
    codes = [subjects[0].uscc, "不存在", 'a"b,c']
    assert list(Subject.objects.filter(uscc__one_of=codes)) == [subjects[0]]
    with django_assert_num_queries(0):
        assert list(Subject.objects.filter(pk__one_of=[])) == []
    with django_assert_num_queries(1):
        assert bulk.in_bulk(Subject.objects.only("name"), ids) == {s.pk: s for s in subjects}


def test_the_hot_cursor_reads_placeholders_as_django_does():
    with bulk.hot_cursor() as cursor:
        for _ in range(2):  # the second time from the cache
            cursor.execute("SELECT %s || '%%', %s", ["50", 7])
            assert cursor.fetchone() == ("50%", 7)


def test_the_hot_cursor_is_kept_per_connection_and_a_nested_one_is_its_own():
    """PostgreSQL keeps one prepared-statement cursor per connection; a hot statement run
    while another's rows are being read gets a cursor of its own, so neither loses rows."""
    with bulk.hot_cursor() as outer:
        outer.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 ORDER BY 1")
        assert outer.fetchone() == (1,)
        with bulk.hot_cursor() as inner:
            inner.execute("SELECT %s", ["inner"])
            assert inner.fetchone() == ("inner",)
        assert outer.fetchall() == [(2,), (3,)]
    if connection.vendor != "postgresql" or not settings.CREDITPLUS_PG_PREPARE:
        return  # no cursor is kept
    with bulk.hot_cursor() as first:
        kept = first.cursor
    with bulk.hot_cursor() as second:
        assert second.cursor is kept  # reused, not closed
        second.execute("SELECT 1")
        assert second.fetchone() == (1,)
    kept.close()  # a closed one (whoever closed it) is replaced
    with bulk.hot_cursor() as third:
        assert third.cursor is not kept
        third.execute("SELECT 2")
        assert third.fetchone() == (2,)


def test_a_large_page_cache_is_given_back_after_the_block():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    with bulk.sqlite_page_cache(64):
        assert cache_size() == -64 * 1024
    assert cache_size() == -2000
    with pytest.raises(RuntimeError), bulk.sqlite_page_cache(64):
        raise RuntimeError  # also when the block fails
    assert cache_size() == -2000


def test_update_rows_sets_each_rows_columns_by_id_as_the_orm_would():
    import polars as pl

    first, second, untouched = make_organisations(3, start=4200)
    before = Subject.objects.filter(pk=untouched.pk).values().get()
    frame = pl.DataFrame(
        {
            "id": [second.pk, first.pk],
            "name": ["上海更名后有限公司", "上海另一家有限公司"],
            "registered_capital": [Decimal("1000000.5000"), None],
            "established_on": [datetime(2001, 2, 3).date(), None],
            "reg_no": [None, "310115000123456"],
            "registered": [True, True],
        }
    )
    assert bulk.update_rows(Subject, frame) == 2
    fields = ("name", "registered_capital", "established_on", "reg_no", "registered")
    assert Subject.objects.filter(pk=second.pk).values_list(*fields).get() == (
        "上海更名后有限公司",
        Decimal("1000000.5000"),
        datetime(2001, 2, 3).date(),
        None,
        True,
    )
    assert Subject.objects.filter(pk=first.pk).values_list(*fields).get() == (
        "上海另一家有限公司",
        None,
        None,
        "310115000123456",
        True,
    )
    assert Subject.objects.filter(pk=untouched.pk).values().get() == before
