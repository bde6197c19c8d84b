"""PostgreSQL: the audit chain's lock and head in one statement.

An append takes the chain's advisory lock and then reads the newest row's hash. Each was a
statement (a round trip) of its own, because in one plain statement the head would be read
from a snapshot taken before the lock was granted: stale if another append committed while
this one waited. A VOLATILE PL/pgSQL function takes a fresh snapshot for each statement it
runs, so it can take the lock and then read the head after it, in one call.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION accounts_auditevent_locked_head() RETURNS varchar
    LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7140911);
    RETURN (SELECT hash FROM accounts_auditevent ORDER BY id DESC LIMIT 1);
END;
$$;
"""
PG_BACKWARD = "DROP FUNCTION IF EXISTS accounts_auditevent_locked_head();"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_jobrun")]

    operations = [migrations.RunPython(forward, backward)]
