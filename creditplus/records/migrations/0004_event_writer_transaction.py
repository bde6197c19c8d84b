from django.db import migrations, models

import creditplus.records.models


class Migration(migrations.Migration):
    """Events get the id of the transaction that wrote them; consumers' cursors become
    (transaction, event id). Existing events and cursors get 0: read in id order as before."""

    dependencies = [("records", "0003_record_item_received")]

    operations = [
        migrations.AddField(
            model_name="creditevent",
            name="tx",
            field=models.BigIntegerField(db_default=0, editable=False, verbose_name="写入事务"),
        ),
        # Only now the per-row default: added in one step, PostgreSQL would rewrite the table
        # and give every existing event the migration's own transaction id.
        migrations.AlterField(
            model_name="creditevent",
            name="tx",
            field=models.BigIntegerField(
                db_default=creditplus.records.models.WriterTransaction(),
                editable=False,
                verbose_name="写入事务",
            ),
        ),
        migrations.AddIndex(
            model_name="creditevent",
            index=models.Index(fields=["tx", "id"], name="event_tx_id"),
        ),
        migrations.AddField(
            model_name="consumercursor",
            name="last_tx",
            field=models.BigIntegerField(default=0, verbose_name="已处理到事务"),
        ),
    ]
