"""Indexes for the public search of subjects by name (creditplus.subjects.queries), kept by
the database itself.

Subjects are written by the ORM, by ingest's bulk path (``executemany`` on SQLite, ``COPY``
on PostgreSQL) and by raw ``UPDATE`` statements (registry updates), so every index here must
follow every write without Python code:

- both databases: ``subjects_public_name_order``, a partial B-tree index of the
  organisations' names in result order (``length(name), name, id``, plus ``kind``) — declared
  on the model. Counting and paging through a very common fragment walk it and never read the
  subject rows.
- SQLite: ``subjects_subject_name_fts``, an FTS5 table with the trigram tokenizer holding the
  names of the subjects the public may find (natural persons are not indexed), so that the
  number of matches of a query comes from the index alone. It is contentless (the names stay
  in the subject table; ``columnsize=0``: no ranking, so no per-row sizes to store) and kept
  in sync by AFTER INSERT / UPDATE / DELETE triggers; built once from the existing rows.
  A trigram index finds any substring of three characters or more (case-insensitively).
- PostgreSQL: the ``pg_trgm`` extension (trusted: the database owner may create it) and
  ``subjects_subject_name_trgm``, a GIN trigram index on the name column, which serves
  ``name ILIKE '%…%'`` for texts of three characters or more.

Beware on SQLite: a later migration that makes Django rebuild ``subjects_subject`` (most
AlterField / RemoveField operations copy it into a new table) drops these triggers with the
old table; such a migration must run ``SQLITE_TRIGGERS`` again. tests/subjects/test_search.py
checks that the triggers and indexes exist after all migrations.
"""

import django.db.models.functions.text
from django.db import migrations, models

FTS = "subjects_subject_name_fts"
PG_INDEX = "subjects_subject_name_trgm"
PUBLIC = "NOT (kind = 'person')"  # which subjects the public may find (public_subjects())

SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(name, content='', columnsize=0, tokenize='trigram')"
)
# A contentless FTS5 table forgets its text: removing a row means repeating exactly what was
# indexed ('delete' command with the old values), which the old row still holds.
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON subjects_subject
        WHEN NOT (new.kind = 'person') BEGIN
        INSERT INTO {FTS}(rowid, name) VALUES (new.id, new.name);
    END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON subjects_subject
        WHEN NOT (old.kind = 'person') BEGIN
        INSERT INTO {FTS}({FTS}, rowid, name) VALUES ('delete', old.id, old.name);
    END""",
    # Registry updates set the name of every registered subject, mostly to the same value:
    # only a real change touches the index.
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE OF id, kind, name ON subjects_subject
        WHEN old.id IS NOT new.id OR old.kind IS NOT new.kind OR old.name IS NOT new.name
        BEGIN
        INSERT INTO {FTS}({FTS}, rowid, name)
            SELECT 'delete', old.id, old.name WHERE NOT (old.kind = 'person');
        INSERT INTO {FTS}(rowid, name)
            SELECT new.id, new.name WHERE NOT (new.kind = 'person');
    END""",
]
SQLITE_FILL = f"INSERT INTO {FTS}(rowid, name) SELECT id, name FROM subjects_subject WHERE {PUBLIC}"
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
]

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON subjects_subject USING gin (name gin_trgm_ops)",
]
# The extension stays: dropping it would break anything else that came to rely on it.
PG_BACKWARD = [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in [SQLITE_TABLE, *SQLITE_TRIGGERS, SQLITE_FILL]:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        for sql in PG_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD}.get(vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("subjects", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name="subject",
            index=models.Index(
                django.db.models.functions.text.Length("name"),
                models.F("name"),
                models.F("id"),
                models.F("kind"),
                condition=models.Q(("kind", "person"), _negated=True),
                name="subjects_public_name_order",
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
