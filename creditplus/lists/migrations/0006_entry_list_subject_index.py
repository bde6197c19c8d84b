"""Whether a subject is live on a list is answered from ``entry_list_subject`` (list, subject,
status, origin), one probe per subject: the lists consumer read every live entry of the list
per statement before (52,000 pages of a Pudong-scale database for a 10,000-row daily batch).
The list's own index is its prefix, so it is dropped by name (SQLite would otherwise rebuild
the table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lists", "0005_entry_subject_index_covered"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="listentry",
            index=models.Index(
                fields=["list_type", "subject", "status", "origin"], name="entry_list_subject"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="listentry",
                    name="list_type",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="lists.listtype",
                        verbose_name="名单",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "lists_listentry_list_type_id_a7199efc"',
                    reverse_sql='CREATE INDEX "lists_listentry_list_type_id_a7199efc" ON "lists_listentry" ("list_type_id")',
                ),
            ],
        ),
    ]
