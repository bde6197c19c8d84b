"""The subject registry (信用主体库): find or create subjects by identifier, in bulk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import polars as pl
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from creditplus.bulk import fetch_in, insert_frame, insert_missing, timestamp_text, update_rows
from creditplus.catalog.schema import ItemSpec
from creditplus.subjects import pii
from creditplus.subjects.models import Subject, SubjectAccount, SubjectChange, SubjectRelation

SUBJECT_TABLE = "subjects_subject"
CHANGE_TABLE = "subjects_subjectchange"
RESIDENT_ID = "身份证"


# The connection that commits new subjects and their relations apart from the batch (see
# registry_writes_apart); None: they are written in the batch's own transaction.
_registry_writer: ContextVar[Any] = ContextVar("registry_writer", default=None)


@contextmanager
def registry_writes_apart() -> Iterator[None]:
    """Within the block, subjects and legal-representative relations that a batch finds
    missing are created on a connection of their own and committed at once, instead of in
    the batch's transaction (PostgreSQL; elsewhere nothing changes). For batches that run
    side by side — a bulk load's files, two at a time: a person named in both files would
    otherwise be inserted by both transactions, and the second would wait for the first to
    commit (a whole file) or fail on the unique key. The registry is found-or-created, so
    the price is that a batch that then fails, or is killed, leaves the subjects it created;
    running it again finds them, and ends where an uninterrupted run ends."""
    if connection.vendor != "postgresql":
        yield
        return
    writer = connections.create_connection(DEFAULT_DB_ALIAS)
    token = _registry_writer.set(writer)
    try:
        yield
    finally:
        _registry_writer.reset(token)
        writer.close()


def _insert_registry_rows(model: type[Any], rows: pl.DataFrame, key: list[str]) -> int:
    """Insert new subjects or relations: in the batch's transaction, or apart from it (and
    skipping what a side-by-side batch just created) inside :func:`registry_writes_apart`,
    in the order of their unique ``key``, so that two such inserts lock in the same order."""
    writer = _registry_writer.get()
    if writer is None:
        return insert_frame(model._meta.db_table, rows)
    return insert_missing(model, rows.sort(key, nulls_last=True), writer)


def person_key(id_type: str | None, number: str) -> str:
    """The value whose keyed hash identifies a natural person: the resident ID itself, or
    "<document type>:<number>" for other documents."""
    if not id_type or id_type == RESIDENT_ID:
        return number
    return f"{id_type}:{number}"


def resolve_subjects(
    frame: pl.DataFrame, *, now: datetime | None = None
) -> tuple[pl.DataFrame, int]:
    """Find or create the subjects of ``frame`` and return it with ``subject_id`` and
    ``subject_name_registered`` columns, plus the number of subjects created.

    ``frame`` columns: ``kind`` (legal / individual / person), ``uscc`` (organisations),
    ``id_type`` and ``id_number`` (persons), ``name``. New subjects take the name of their
    first row; an existing subject keeps its registered name (the caller flags a mismatch).
    """
    now = now or timezone.now()
    frame = subject_keys(frame)
    known = existing_subjects(frame)
    missing = frame.join(known, on="_key", how="anti").unique(
        "_key", keep="first", maintain_order=True
    )
    created = 0
    if missing.height:
        created = _insert(missing, now)
        known = existing_subjects(frame)
    frame = frame.join(known, on="_key", how="left").drop("_key", "id_hash")
    return frame, created


def subject_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (columns as for :func:`resolve_subjects`) with ``id_hash``, the keyed hash
    persons are found by, and ``_key``, the identifier a subject is found by."""
    is_person = pl.col("kind") == "person"
    unique_people = (
        frame.filter(is_person).select("id_type", "id_number").unique().drop_nulls("id_number")
    )
    hashes = {(t, n): pii.lookup_hash(person_key(t, n)) for t, n in unique_people.iter_rows()}
    hash_frame = pl.DataFrame(
        {
            "id_type": [k[0] for k in hashes],
            "id_number": [k[1] for k in hashes],
            "id_hash": list(hashes.values()),
        },
        schema={"id_type": pl.Utf8, "id_number": pl.Utf8, "id_hash": pl.Utf8},
    )
    frame = frame.join(hash_frame, on=["id_type", "id_number"], how="left", nulls_equal=True)
    frame = frame.with_columns(
        pl.when(is_person)
        .then(pl.lit("P:") + pl.col("id_hash"))
        .otherwise(pl.lit("U:") + pl.col("uscc"))
        .alias("_key")
    )
    return frame


def existing_subjects(frame: pl.DataFrame) -> pl.DataFrame:
    """The stored subjects of :func:`subject_keys` rows: ``subject_id``, ``_key`` and the
    registered name."""
    schema = {"subject_id": pl.Int64, "_key": pl.Utf8, "subject_name_registered": pl.Utf8}
    usccs = (
        frame.filter(pl.col("kind") != "person").get_column("uscc").drop_nulls().unique().to_list()
    )
    id_hashes = (
        frame.filter(pl.col("kind") == "person")
        .get_column("id_hash")
        .drop_nulls()
        .unique()
        .to_list()
    )
    parts = [pl.DataFrame(schema=schema)]
    if usccs:
        parts.append(
            fetch_in(
                f"SELECT id AS subject_id, 'U:' || uscc AS _key, name AS subject_name_registered "
                f"FROM {SUBJECT_TABLE} WHERE uscc {{in}}",
                usccs,
                schema=schema,
            )
        )
    if id_hashes:
        parts.append(
            fetch_in(
                f"SELECT id AS subject_id, 'P:' || id_hash AS _key, name AS subject_name_registered "
                f"FROM {SUBJECT_TABLE} WHERE id_hash {{in}}",
                id_hashes,
                schema=schema,
            )
        )
    return pl.concat(parts, how="vertical")


def _insert(missing: pl.DataFrame, now: datetime) -> int:
    people = missing.filter(pl.col("kind") == "person")
    cipher = {n: pii.encrypt(n) for n in people.get_column("id_number").to_list()}
    stamp = timestamp_text(now)
    rows = missing.select(
        pl.col("kind"),
        pl.when(pl.col("kind") == "person").then(None).otherwise(pl.col("uscc")).alias("uscc"),
        pl.col("id_hash"),
        pl.col("id_number")
        .replace_strict(cipher, default="", return_dtype=pl.Utf8)
        .alias("id_cipher"),
        pl.when(pl.col("kind") == "person")
        .then(
            pl.col("id_number").str.slice(0, 4)
            + pl.lit("*" * 10)
            + pl.col("id_number").str.slice(-4)
        )
        .otherwise(pl.lit(""))
        .alias("id_masked"),
        pl.col("name").str.slice(0, 200),
        *[
            pl.lit("").alias(c)
            for c in (
                "legal_rep_name",
                "enterprise_type",
                "industry",
                "address",
                "status",
                "business_scope",
            )
        ],
        pl.lit(False).alias("registered"),
        pl.lit(stamp).alias("created_at"),
        pl.lit(stamp).alias("changed_at"),
    )
    return _insert_registry_rows(Subject, rows, ["uscc", "id_hash"])


def touch_subjects(subject_ids: list[int], now: datetime | None = None) -> None:
    """Mark subjects as changed (their records changed), for incremental evaluation: one
    change-log row each, appended in bulk. The subject rows themselves are not updated, so
    the cost follows the batch, not the registry and its indexes."""
    if not subject_ids:
        return
    stamp = timestamp_text(now or timezone.now())
    insert_frame(
        CHANGE_TABLE,
        pl.DataFrame({"subject_id": subject_ids}, schema={"subject_id": pl.Int64}).with_columns(
            pl.lit(stamp).alias("at")
        ),
    )


def changed_since(since: datetime) -> set[int]:
    """Subjects created or marked changed after ``since``."""
    created = Subject.objects.filter(changed_at__gt=since).values_list("pk", flat=True)
    logged = SubjectChange.objects.filter(at__gt=since).values_list("subject_id", flat=True)
    return set(created) | set(logged)


# Who reads the change log, each with the time up to which it has read (None: it has not
# read yet and will read everything next time, so it needs none of the log).
ChangeReader = Callable[[], "datetime | None"]
_change_readers: dict[str, ChangeReader] = {}


def read_changes_as(name: str, read_up_to: ChangeReader) -> None:
    """Register a reader of the change log (incremental evaluation, home statistics…): the
    log is trimmed only below what every registered reader has read."""
    _change_readers[name] = read_up_to


def trim_changes() -> int:
    """Forget the change-log rows that every reader has read (older than the oldest read
    position). Each reader calls this after it has read."""
    positions = [p for p in (read() for read in _change_readers.values()) if p is not None]
    if not positions:
        return 0
    deleted, _ = SubjectChange.objects.filter(at__lt=min(positions)).delete()
    return deleted


def update_registry(frame: pl.DataFrame, spec: ItemSpec) -> int:
    """Copy the registration item's facts onto the subjects (registration is authoritative for
    a subject's name and basics; other items never rename a subject)."""
    columns = {"name": spec.subject.name, **spec.registry}
    rows = frame.select(
        [pl.col(src).alias(dst) for dst, src in columns.items()] + [pl.col("subject_id")]
    ).unique("subject_id", keep="last")
    # reg_no stays NULL when not reported, so that no empty number ever matches.
    text_cols = [c for c in columns if c not in ("registered_capital", "established_on", "reg_no")]
    rows = rows.with_columns([pl.col(c).fill_null("") for c in text_cols])
    return update_rows(
        Subject, rows.rename({"subject_id": "id"}).with_columns(registered=pl.lit(True))
    )


def org_code_expr() -> str:
    """The SQL of the organisation code inside a USCC (positions 9–17), spelled exactly as
    in the ``subjects_uscc_org_code`` index so that both databases use it."""
    return (
        'SUBSTRING("uscc", 9, 9)' if connection.vendor == "postgresql" else 'SUBSTR("uscc", 9, 9)'
    )


def find_by_legacy_identifiers(
    org_codes: list[str], reg_nos: list[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The USCCs of the organisations that old identifiers name, for records that carry no
    USCC: GB 11714 organisation code → the subjects whose USCC embeds it (through the
    ``subjects_uscc_org_code`` index), registration number → the subjects the registration
    item recorded it for. Each maps to every match, so that the caller can refuse an
    ambiguous one."""
    schema = {"key": pl.Utf8, "uscc": pl.Utf8}
    org = org_code_expr()
    found = [
        fetch_in(
            f"SELECT {org} AS key, uscc FROM {SUBJECT_TABLE} WHERE {org} {{in}}",
            org_codes,
            schema=schema,
        ),
        fetch_in(
            f"SELECT reg_no AS key, uscc FROM {SUBJECT_TABLE} "
            "WHERE reg_no {in} AND uscc IS NOT NULL",
            reg_nos,
            schema=schema,
        ),
    ]
    maps: list[dict[str, list[str]]] = []
    for frame in found:
        grouped = frame.sort("uscc").group_by("key", maintain_order=True).agg("uscc")
        maps.append(dict(grouped.iter_rows()))
    return maps[0], maps[1]


def _clear_id(value: str) -> str:
    return pii.unseal(value) if value.startswith("s1:") else value


def legal_rep_people(frame: pl.DataFrame, spec: ItemSpec) -> pl.DataFrame:
    """The legal representatives named in ``frame``'s organisation rows, as person rows for
    :func:`resolve_subjects` (clear ID numbers), with the organisation's ``subject_id`` (null
    before the rows' subjects are resolved) as ``organisation_id``."""
    s = spec.subject
    if not (s.legal_rep and s.legal_rep_id_number):
        return pl.DataFrame()
    organisation = pl.col("subject_id") if "subject_id" in frame.columns else pl.lit(None)
    reps = frame.filter(
        pl.col(s.legal_rep_id_number).is_not_null() & (pl.col("__kind") != "person")
    ).select(
        organisation.cast(pl.Int64).alias("organisation_id"),
        pl.lit("person").alias("kind"),
        pl.lit(None, dtype=pl.Utf8).alias("uscc"),
        (pl.col(s.legal_rep_id_type) if s.legal_rep_id_type else pl.lit(None, dtype=pl.Utf8)).alias(
            "id_type"
        ),
        pl.col(s.legal_rep_id_number).alias("id_number"),
        pl.col(s.legal_rep).fill_null("").alias("name"),
    )
    # After record_values the record's personal fields are sealed: the person is found and
    # masked by the clear ID number, never by its ciphertext.
    return reps.with_columns(
        pl.col("id_number").map_elements(_clear_id, return_dtype=pl.Utf8),
        pl.col("id_type").map_elements(_clear_id, return_dtype=pl.Utf8),
    )


def link_legal_representatives(frame: pl.DataFrame, spec: ItemSpec, now: datetime) -> int:
    """Create the natural persons named as legal representatives (by ID number) and their
    relation to the organisation, so that a person's other companies can be found."""
    reps = legal_rep_people(frame, spec)
    if reps.height == 0:
        return 0
    resolved, _ = resolve_subjects(reps.drop("organisation_id").with_row_index("_i"), now=now)
    pairs = reps.with_row_index("_i").join(
        resolved.select("_i", pl.col("subject_id").alias("person_id")), on="_i"
    )
    pairs = pairs.select("organisation_id", "person_id").unique()
    existing = fetch_in(
        "SELECT organisation_id, person_id FROM subjects_subjectrelation WHERE role = %s AND organisation_id {in}",
        pairs.get_column("organisation_id").unique().to_list(),
        extra=["legal_rep"],
        schema={"organisation_id": pl.Int64, "person_id": pl.Int64},
    )
    new = pairs.join(existing, on=["organisation_id", "person_id"], how="anti")
    return _insert_registry_rows(
        SubjectRelation,
        new.with_columns(
            pl.lit("legal_rep").alias("role"),
            pl.lit(None, dtype=pl.Utf8).alias("since"),
            pl.lit(timestamp_text(now)).alias("created_at"),
        ),
        ["organisation_id", "person_id"],
    )


def bind_enterprise_user(
    username: str, code: str, *, verified_by: str, clerk: str
) -> SubjectAccount:
    """Bind an enterprise user to its subject after the clerk checked the business license;
    the user gets the enterprise role. One subject per user; audited."""
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils.translation import gettext as _

    from creditplus.accounts import audit
    from creditplus.accounts.choices import Role
    from creditplus.accounts.models import User
    from creditplus.errors import DomainError, NotFound

    with transaction.atomic():
        # Lock the user row: two clerks binding the same account at once must not both succeed.
        user = (
            User.objects.select_for_update()
            .filter(username=username.strip(), is_system=False)
            .first()
        )
        if user is None:
            raise NotFound(_("用户不存在：%(u)s") % {"u": username}, "username")
        if user.is_government or user.has_role(Role.FINANCIAL, Role.ASSESSOR):
            raise DomainError(
                "not_enterprise_user", _("政府部门或机构账号不能绑定企业"), "username"
            )
        subject = Subject.objects.organisations().filter(uscc=code.strip().upper()).first()
        if subject is None:
            raise NotFound(_("未找到统一社会信用代码为 %(c)s 的主体") % {"c": code}, "code")
        if SubjectAccount.objects.filter(user=user).exists():
            raise DomainError(
                "already_bound", _("该用户已绑定企业，请先解除原绑定"), "username", status=409
            )
        account = SubjectAccount.objects.create(
            user=user, subject=subject, verified_by=verified_by, bound_by=clerk
        )
        user.groups.add(Group.objects.get(name=Role.ENTERPRISE))
        audit.record(
            "subject.bind_account",
            obj=account,
            subject=subject.uscc or "",
            purpose=verified_by,
            after={"user": user.username, "subject": subject.uscc},
        )
    return account
