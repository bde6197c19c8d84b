"""Imported entries repeat their source record's natural key: take the rewritten (hashed)
key of the record, so that no entry keeps a resident ID in clear."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce


def copy_keys(apps, schema_editor):
    ListEntry = apps.get_model("lists", "ListEntry")
    CreditRecord = apps.get_model("records", "CreditRecord")
    key = CreditRecord.objects.filter(pk=OuterRef("source_record_id")).values("natural_key")[:1]
    ListEntry.objects.filter(source_record_id__isnull=False).exclude(source_key="").update(
        source_key=Coalesce(Subquery(key), F("source_key"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("lists", "0001_initial"),
        ("records", "0007_hash_personal_natural_keys"),
    ]

    operations = [migrations.RunPython(copy_keys, migrations.RunPython.noop, elidable=True)]
