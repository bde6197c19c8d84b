"""The evidence links (``ListEntry.evidence``) get a model of their own, on the same table
with the same columns and indexes, so that their record reference can drop its database
constraint (see ``ListEntryEvidence``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lists", "0003_restoration_within_publicity"),
        ("records", "0009_event_trigger_covering_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # What the table already is: Django's own table for the many-to-many field.
            state_operations=[
                migrations.CreateModel(
                    name="ListEntryEvidence",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "listentry",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="lists.listentry",
                            ),
                        ),
                        (
                            "creditrecord",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="records.creditrecord",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "证据记录",
                        "verbose_name_plural": "证据记录",
                        "db_table": "lists_listentry_evidence",
                        "unique_together": {("listentry", "creditrecord")},
                    },
                ),
                migrations.AlterField(
                    model_name="listentry",
                    name="evidence",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        through="lists.ListEntryEvidence",
                        to="records.creditrecord",
                        verbose_name="证据记录",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="listentryevidence",
            name="creditrecord",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="records.creditrecord",
            ),
        ),
    ]
