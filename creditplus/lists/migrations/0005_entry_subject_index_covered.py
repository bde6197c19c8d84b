"""An entry's subject is looked up through ``entry_subject_status`` (subject, status): the
subject's own index was one more random-key index written per entry (676,000 entries after a
Pudong-scale load). Dropped by name (SQLite would otherwise rebuild the table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lists", "0004_evidence_without_record_constraint"),
        ("subjects", "0004_subject_change_log"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="listentry",
                    name="subject",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="list_entries",
                        to="subjects.subject",
                        verbose_name="信用主体",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "lists_listentry_subject_id_5ef64186"',
                    reverse_sql='CREATE INDEX "lists_listentry_subject_id_5ef64186" ON "lists_listentry" ("subject_id")',
                ),
            ],
        ),
    ]
