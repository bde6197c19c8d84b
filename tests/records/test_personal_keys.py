"""No resident ID in clear at rest (issue 16, finding 6): natural keys and list source keys
hold a keyed hash of the ID, existing rows are migrated, and after a demo load no text column
of the whole database holds a valid 18-character resident ID."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models
from django.utils import timezone
from stdnum.cn import ric

from creditplus.accounts.models import Department
from creditplus.catalog.models import CatalogItem
from creditplus.lists.models import ListEntry
from creditplus.records import consumers
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord
from creditplus.subjects.pii import lookup_hash
from tests.lists.test_external import debtor
from tests.records.files import PERSON_ID

pytestmark = pytest.mark.django_db


def person_debtor(case: str) -> dict[str, str]:
    row = debtor(case, timezone.localdate() - timedelta(days=10))
    row.update(
        {
            "被执行人姓名/名称": "王五",
            "被执行人类别": "自然人",
            "统一社会信用代码": "",
            "法定代表人或者负责人姓名": "",
            "证件类型": "身份证",
            "证件号码": PERSON_ID,
        }
    )
    return row


def ingest(*rows: dict[str, str]):
    batch = ingest_rows(
        list(rows),
        IngestOptions(
            item=CatalogItem.objects.get(code="SXBZX"), department=Department.objects.get(code="FY")
        ),
    )
    consumers.run("lists")
    return batch


def test_a_natural_persons_key_holds_the_keyed_hash_not_the_id(reference):
    first = ingest(person_debtor("（2026）沪0115执9号"))
    assert first.accepted == 1, list(first.errors.values_list("message", flat=True))
    record = CreditRecord.objects.get()
    assert PERSON_ID not in record.natural_key
    assert record.natural_key.endswith("|h:" + lookup_hash(PERSON_ID))
    entry = ListEntry.objects.get(source_record=record)
    assert entry.source_key == record.natural_key
    # The same row again finds its record through the hashed key: unchanged, not new.
    again = ingest(person_debtor("（2026）沪0115执9号"))
    assert (again.unchanged, again.accepted) == (1, 0)


def test_the_migration_hashes_existing_clear_keys(reference):
    from importlib import import_module

    ingest(person_debtor("（2026）沪0115执10号"))
    record = CreditRecord.objects.get()
    hashed = record.natural_key
    clear = hashed.replace("h:" + lookup_hash(PERSON_ID), PERSON_ID)
    CreditRecord.objects.filter(pk=record.pk).update(natural_key=clear)
    ListEntry.objects.filter(source_record=record).update(source_key=clear)

    records = import_module("creditplus.records.migrations.0007_hash_personal_natural_keys")
    entries = import_module("creditplus.lists.migrations.0002_hash_personal_source_keys")
    records.hash_keys(apps, None)
    entries.copy_keys(apps, None)
    record.refresh_from_db()
    assert record.natural_key == hashed
    assert ListEntry.objects.get(source_record=record).source_key == hashed
    records.hash_keys(apps, None)  # idempotent
    record.refresh_from_db()
    assert record.natural_key == hashed


ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def resident_ids_in_clear() -> dict[str, set[str]]:
    """Every valid resident ID found in any text column of any table, by table.column."""
    found: dict[str, set[str]] = {}
    text_fields = (models.CharField, models.TextField, models.JSONField)
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = [f.column for f in model._meta.concrete_fields if isinstance(f, text_fields)]
        table = model._meta.db_table
        for column in columns:
            with connection.cursor() as cursor:
                cast = f'CAST("{column}" AS TEXT)'
                cursor.execute(
                    f'SELECT {cast} FROM "{table}" WHERE {cast} LIKE %s',
                    ["%" + "_" * 17 + "%"],
                )
                for (value,) in cursor.fetchall():
                    for candidate in ID_PATTERN.findall(value or ""):
                        if ric.is_valid(candidate.upper()):
                            found.setdefault(f"{table}.{column}", set()).add(candidate)
    return found


@pytest.mark.slow
def test_no_text_column_holds_a_resident_id_in_clear_after_a_demo_load(reference, tmp_path):
    call_command(
        "demo_data", "--subjects", "300", "--out", str(tmp_path), "--load", stdout=StringIO()
    )
    call_command("demo_accounts", stdout=StringIO())
    call_command("lists_demo", stdout=StringIO())
    assert CreditRecord.objects.filter(item__code__in=["RYJL", "SXBZX"]).exists()
    assert resident_ids_in_clear() == {}
