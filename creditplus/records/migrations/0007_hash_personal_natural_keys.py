"""Natural keys that hold a resident ID keep it as its keyed hash (like the subjects' look-up
hashes), not in clear: rewrite the keys of every version of the records of such items."""

import json

from django.db import migrations

from creditplus.subjects.pii import lookup_hash, unseal


def _personal_positions(definition: dict) -> list[int]:
    personal = {
        f["code"]
        for f in definition.get("fields", [])
        if f.get("personal") or f.get("type") == "id_number"
    }
    return [i for i, c in enumerate(definition.get("natural_key", [])) if c in personal]


def _hashed(value: str) -> str:
    if not value or value.startswith("h:"):
        return value
    if value.startswith("s1:"):
        value = unseal(value)
    return "h:" + lookup_hash(value)


def hash_keys(apps, schema_editor):
    CatalogItem = apps.get_model("catalog", "CatalogItem")
    CreditRecord = apps.get_model("records", "CreditRecord")
    for item in CatalogItem.objects.all():
        positions = _personal_positions(item.definition or {})
        if not positions:
            continue
        key_fields = item.definition["natural_key"]
        records = CreditRecord.objects.filter(item_id=item.pk).only("natural_key", "data")
        changed = []
        for record in records.iterator(chunk_size=2000):
            parts = record.natural_key.split("|")
            if len(parts) != len(key_fields):  # a "|" inside a value: rebuild from the data
                data = json.loads(record.data)
                parts = [str(data.get(c) or "") for c in key_fields]
            for i in positions:
                parts[i] = _hashed(parts[i])
            key = "|".join(parts)
            if key != record.natural_key:
                record.natural_key = key
                changed.append(record)
            if len(changed) >= 2000:
                CreditRecord.objects.bulk_update(changed, ["natural_key"])
                changed = []
        CreditRecord.objects.bulk_update(changed, ["natural_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0006_reporting_authority"),
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(hash_keys, migrations.RunPython.noop, elidable=True)]
