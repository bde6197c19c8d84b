"""Entries whose publicity ends before restoration would open: no restoration date.

The entry leaves the list when its period ends (期满移出); see lists.services.restoration_opens.
"""

from django.db import migrations
from django.db.models import F


def clear_unreachable_restoration(apps, schema_editor):
    ListEntry = apps.get_model("lists", "ListEntry")
    ListEntry.objects.filter(
        restoration_from__isnull=False,
        publish_until__isnull=False,
        restoration_from__gt=F("publish_until"),
    ).update(restoration_from=None)


class Migration(migrations.Migration):
    dependencies = [("lists", "0002_hash_personal_source_keys")]

    operations = [migrations.RunPython(clear_unreachable_restoration, migrations.RunPython.noop)]
