"""Named queries over subjects; the public API reads subjects only through these."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length

from creditplus.catalog.choices import SubjectKind
from creditplus.identifiers import check_uscc
from creditplus.subjects.models import Subject

# The name indexes (migration subjects 0002), all kept by the database:
# - SQLite: an FTS5 trigram table of the names of public subjects (persons not indexed);
# - PostgreSQL: a pg_trgm GIN index on the name column;
# - both: a partial B-tree index of the public subjects' names in result order.
NAME_FTS = "subjects_subject_name_fts"
ORDER_INDEX = "subjects_public_name_order"
# A trigram index answers substring queries of at least this many characters.
TRIGRAM = 3
# The most results one page may hold, and how deep pages may go.
MAX_PAGE_SIZE = 50
MAX_OFFSET = 50_000
# "Few" matches (see search_page): sorted from the trigram hits, or all fetched at once in
# result order. More are paged by walking the ordered name index, which stops early.
FEW_MATCHES = 2000

PUBLIC_SQL = f"NOT (kind = '{SubjectKind.PERSON.value}')"  # the order index's condition
RESULT_ORDER = "length(name), name, id"  # the ordered index's columns


def public_subjects() -> QuerySet[Subject]:
    """Subjects the public may look up: organisations and individual businesses (natural
    persons are never listed publicly)."""
    return Subject.objects.exclude(kind=SubjectKind.PERSON)


class NameContains(Lookup):
    """``lhs`` contains the text ``rhs`` (taken literally: LIKE wildcards are escaped),
    ignoring case (see :func:`like_operator`); the trigram indexes serve it for texts of
    three characters or more on PostgreSQL.

    Used as an expression (``qs.filter(NameContains(F("name"), q))``), not registered as a
    field lookup: Django's own ``icontains`` compares ``UPPER(name)`` on PostgreSQL, which
    no index on the column serves."""

    lookup_name = "name_contains"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: str, connection) -> tuple[str, list[str]]:
        return "%s", [like_pattern(value, connection)]

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        op = like_operator(self.rhs, connection)
        return f"{lhs} {op} {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def like_operator(text: str, conn=connection) -> str:
    """The operator for "contains ``text``, ignoring case": SQLite's ``LIKE`` (which ignores
    the case of ASCII letters; its FTS5 trigram index folds the case of all letters). On
    PostgreSQL ``ILIKE`` — or ``LIKE`` when ``text`` has no letters with case (Chinese,
    digits): the same answer, about three times faster."""
    if conn.vendor == "postgresql" and text.lower() != text.upper():
        return "ILIKE"
    return "LIKE"


def like_pattern(text: str, conn=connection) -> str:
    """``%text%`` with the LIKE wildcards of ``text`` (``%``, ``_``, ``\\``) escaped."""
    return f"%{conn.ops.prep_for_like_query(text)}%"


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 string (a phrase): every character literal, quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def name_contains(q: str) -> Q | NameContains:
    """The condition "the name contains ``q``" for ``QuerySet.filter``, through the trigram
    index where one answers (SQLite's FTS5 table holds public subjects only, so combine this
    with ``public_subjects()``)."""
    if connection.vendor == "sqlite" and len(q) >= TRIGRAM:
        # A constant table name; the query text is a parameter.
        return Q(
            id__in=RawSQL(  # noqa: S611
                f"SELECT rowid FROM {NAME_FTS} WHERE {NAME_FTS} MATCH %s", (fts_phrase(q),)
            )
        )
    return NameContains(F("name"), q)


def _as_code(q: str) -> str | None:
    return q.upper() if len(q) == 18 and check_uscc(q).ok else None


def search_public(q: str) -> QuerySet[Subject]:
    """Public search as a queryset: an exact unified social credit code, else the public
    subjects whose name contains ``q`` (case-insensitively), shorter names first (so the
    exact name comes first: no other name containing ``q`` is as short), then by name.

    For a page and the count of all matches use :func:`search_page`, which answers both
    from the indexes by the cheapest plan for the query."""
    q = q.strip()
    qs = public_subjects()
    if code := _as_code(q):
        return qs.filter(uscc=code)
    return _names_containing(q).order_by(Length("name"), "name", "id")


# Words of a search text that count (each costs a condition).
MAX_WORDS = 5


def _names_containing(q: str) -> QuerySet[Subject]:
    """Public subjects whose name contains every word of ``q`` (words split at spaces); the
    longest word goes through the trigram index where one answers, the others filter."""
    words = sorted(set(q.replace("\u3000", " ").split()[:MAX_WORDS]), key=len, reverse=True)
    qs = public_subjects().filter(name_contains(words[0]))
    for word in words[1:]:
        qs = qs.filter(NameContains(F("name"), word))
    return qs


@dataclass(frozen=True)
class SearchPage:
    count: int  # all matches
    results: list[Subject]  # the page, in result order


def search_page(q: str, page: int = 1, page_size: int = 20) -> SearchPage:
    """One page of :func:`search_public` and the number of all its matches.

    - SQLite, three characters or more: the count comes from the FTS5 trigram index alone.
      Up to ``FEW_MATCHES`` matches, the page is sorted from the index's hits (a row read
      each); beyond, the ordered name index is walked until the page is full — the more
      matches, the sooner.
    - Otherwise (PostgreSQL; SQLite with one or two characters, which no trigram index
      answers): the first ``FEW_MATCHES + 1`` matches in result order, from the ordered name
      index (PostgreSQL's planner takes the GIN trigram index and a sort instead when the
      text is rare). Fewer than that are all the matches: their number is the count and the
      page is among them. Only a common text costs a second pass, to count.

    Neither path reads a subject row except those of the page. ``page_size`` is capped at
    ``MAX_PAGE_SIZE``, the offset at ``MAX_OFFSET``.
    """
    q = q.strip()
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = (max(page, 1) - 1) * size
    if code := _as_code(q):
        qs = public_subjects().filter(uscc=code)
        return SearchPage(qs.count(), list(qs[offset : offset + size]))
    if len(q.replace("\u3000", " ").split()) > 1:
        return _all_words_page(q, offset, size)
    if connection.vendor == "sqlite" and len(q) >= TRIGRAM:
        count = _fts_count(q)
        if offset >= count or offset > MAX_OFFSET:
            ids = []
        elif count <= FEW_MATCHES:
            ids = _fts_page(q, offset, size)
        else:
            ids = _walk(q, offset, size)
        return SearchPage(count, _subjects(ids))
    head = _walk(q, 0, FEW_MATCHES + 1)
    if len(head) <= FEW_MATCHES:
        return SearchPage(len(head), _subjects(head[offset : offset + size]))
    count = _walk_count(q)
    if offset + size <= len(head):
        ids = head[offset : offset + size]
    else:
        ids = _walk(q, offset, size) if offset < min(count, MAX_OFFSET + 1) else []
    return SearchPage(count, _subjects(ids))


def _all_words_page(q: str, offset: int, size: int) -> SearchPage:
    """A page of the names containing every word of ``q`` (several words: "上海 昊骏"). The
    first ``FEW_MATCHES + 1`` ids in result order answer the count when there are fewer."""
    qs = search_public(q).values_list("id", flat=True)
    head = list(qs[: FEW_MATCHES + 1])
    if len(head) <= FEW_MATCHES:
        return SearchPage(len(head), _subjects(head[offset : offset + size]))
    offset = min(offset, MAX_OFFSET)
    return SearchPage(qs.count(), _subjects(list(qs[offset : offset + size])))


def _subjects(ids: list[int]) -> list[Subject]:
    found = public_subjects().in_bulk(ids)
    return [found[i] for i in ids if i in found]


def _rows(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fts_count(q: str) -> int:
    sql = f"SELECT count(*) FROM {NAME_FTS} WHERE {NAME_FTS} MATCH %s"
    return _rows(sql, [fts_phrase(q)])[0][0]


def _fts_page(q: str, offset: int, limit: int) -> list[int]:
    """A page from the trigram hits (SQLite): a rowid lookup each, then a sort."""
    sql = (
        f"SELECT id FROM subjects_subject NOT INDEXED WHERE {PUBLIC_SQL} "
        f"AND id IN (SELECT rowid FROM {NAME_FTS} WHERE {NAME_FTS} MATCH %s) "
        f"ORDER BY {RESULT_ORDER} LIMIT %s OFFSET %s"
    )
    return [r[0] for r in _rows(sql, [fts_phrase(q), limit, offset])]


def _matching(q: str) -> str:
    """FROM and WHERE of the public subjects whose name contains the text (one parameter);
    on SQLite read from the ordered name index, which holds everything these queries need."""
    indexed = f"INDEXED BY {ORDER_INDEX} " if connection.vendor == "sqlite" else ""
    return (
        f"FROM subjects_subject {indexed}WHERE {PUBLIC_SQL} "
        f"AND name {like_operator(q)} %s ESCAPE '\\'"
    )


def _walk(q: str, offset: int, limit: int) -> list[int]:
    sql = f"SELECT id {_matching(q)} ORDER BY {RESULT_ORDER} LIMIT %s OFFSET %s"
    return [r[0] for r in _rows(sql, [like_pattern(q), limit, offset])]


def _walk_count(q: str) -> int:
    return _rows(f"SELECT count(*) {_matching(q)}", [like_pattern(q)])[0][0]
