"""A task's department is looked up through ``task_department_status`` (department, status):
the department's own index was one more index written per task. Dropped by name (SQLite
would otherwise rebuild the table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_audit_chain_head_function"),
        ("sanctions", "0004_check_department_index_in_check_dept_time"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="sanctiontask",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tasks",
                        to="accounts.department",
                        verbose_name="实施部门",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "sanctions_sanctiontask_department_id_77c68f08"',
                    reverse_sql='CREATE INDEX "sanctions_sanctiontask_department_id_77c68f08" ON "sanctions_sanctiontask" ("department_id")',
                ),
            ],
        ),
    ]
