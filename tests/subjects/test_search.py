"""Public search by name through the name indexes (migration subjects 0002): Chinese
substrings of two characters and more, indexes that follow every write path (ORM, ingest's
bulk insert, raw UPDATE / DELETE), literal wildcards, no natural persons, a stable order."""

from __future__ import annotations

import polars as pl
import pytest
from django.db import connection
from django.test import Client

from creditplus.subjects import queries
from creditplus.subjects.models import Subject
from creditplus.subjects.queries import search_page, search_public
from creditplus.subjects.services import resolve_subjects
from tests.factories import valid_uscc

pytestmark = pytest.mark.django_db

ZHANGJIANG = "上海张江高科技园区开发股份有限公司"
OTHERS = [
    "上海浦东发展银行股份有限公司",
    "上海张江生物医药基地开发有限公司",  # 张江, but not 张江高
    "北京中关村高科技园区开发有限公司",  # 高科技园区开发, but not 张江
    "上海外高桥保税区开发股份有限公司",
    "上海陆家嘴金融贸易区开发股份有限公司",
    "张江高",  # the exact text of a three-character query
    "ABC科技（上海）有限公司",
]


def organisation(name: str, n: int, **fields) -> Subject:
    return Subject.objects.create(kind="legal", uscc=valid_uscc(n), name=name, **fields)


@pytest.fixture
def registry():
    subjects = [organisation(name, 500 + i) for i, name in enumerate([ZHANGJIANG, *OTHERS])]
    # A natural person whose name contains the queries below: never found publicly.
    Subject.objects.create(kind="person", id_hash="f" * 64, name="张江高科")
    return subjects


def search(q: str, **params) -> dict:
    response = Client().get("/api/v1/subjects", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def names(q: str, **params) -> list[str]:
    return [r["name"] for r in search(q, **params)["results"]]


def expected(q: str) -> list[str]:
    """The public subjects whose name contains ``q`` (ignoring ASCII case), in result order,
    computed in Python."""
    rows = Subject.objects.exclude(kind="person").values_list("name", "id")
    hits = [(len(n), n, i) for n, i in rows if q.lower() in n.lower()]
    return [n for _, n, _ in sorted(hits)]


@pytest.mark.parametrize(
    "q",
    ["张江", "高科", "园区", "张江高", "高科技", "张江高科", "园区开发股份", ZHANGJIANG],
)
def test_two_three_and_more_characters_find_zhangjiang(registry, q):
    body = search(q)
    assert ZHANGJIANG in [r["name"] for r in body["results"]]
    assert [r["name"] for r in body["results"]] == expected(q)
    assert body["count"] == len(expected(q))


def test_one_character_works_too_below_the_api(registry):
    # The API asks for two characters at least; the query functions take any text.
    found = search_page("江", 1, 50)
    assert [s.name for s in found.results] == expected("江") and found.count == 3
    assert list(search_public("江").values_list("name", flat=True)) == expected("江")


def test_the_exact_name_comes_first_then_shorter_names(registry):
    assert names("张江高") == ["张江高", ZHANGJIANG]
    assert names("开发") == expected("开发")
    lengths = [len(n) for n in names("开发")]
    assert lengths == sorted(lengths) and len(set(lengths)) > 1
    assert names(ZHANGJIANG) == [ZHANGJIANG]


def test_natural_persons_are_never_found(registry):
    for q in ("张江高科", "张江高", "张江"):
        body = search(q)
        assert "person" not in {r["kind"] for r in body["results"]}
        assert body["count"] == len(expected(q))
        assert not search_public(q).filter(kind="person").exists()
        assert not [s for s in search_page(q, 1, 50).results if s.is_person]
    assert search("张江高科")["count"] == 1  # the company, not the person


def test_ascii_letters_ignore_case(registry):
    for q in ("abc科技", "ABC科技", "Abc", "bc"):
        assert names(q) == ["ABC科技（上海）有限公司"], q


def test_a_code_is_an_exact_match(registry):
    body = search(valid_uscc(500))
    assert body["count"] == 1 and names(valid_uscc(500)) == [ZHANGJIANG]
    assert search(valid_uscc(999))["count"] == 0


def test_like_wildcards_and_fts_syntax_are_taken_literally(registry):
    organisation("上海百分之100%科技有限公司", 600)
    organisation("上海下划_线科技有限公司", 601)
    organisation('上海"引号"科技有限公司', 602)
    organisation("上海反斜\\杠科技有限公司", 603)
    assert names("0%") == ["上海百分之100%科技有限公司"]
    assert names("%科") == ["上海百分之100%科技有限公司"]
    assert names("%%") == []
    assert names("划_线") == ["上海下划_线科技有限公司"]
    assert names("_线") == ["上海下划_线科技有限公司"]
    assert names("__") == []
    assert names('"引号"') == ['上海"引号"科技有限公司']
    assert names('号"') == ['上海"引号"科技有限公司']
    assert names("斜\\杠") == ["上海反斜\\杠科技有限公司"]
    # FTS5 query syntax is text too: operators, columns, prefixes, NEAR, parentheses
    for q in (
        "张江 OR 北京",
        "NOT 张江",
        "name:张江",
        "张江*",
        "NEAR(张江 高科)",
        "(张江)",
        "张江 AND",
    ):
        assert search(q)["count"] == 0, q


def test_bulk_inserted_subjects_are_found_and_raw_renames_followed(registry):
    """Ingest writes subjects with insert_frame (executemany / COPY) and updates them with raw
    SQL: the index follows without any Python code."""
    frame = pl.DataFrame(
        {
            "kind": ["legal", "legal", "person"],
            "uscc": [valid_uscc(700), valid_uscc(701), None],
            "id_type": [None, None, "身份证"],
            "id_number": [None, None, "310115199001011234"],
            "name": ["上海金桥出口加工区开发股份有限公司", "上海临港新片区开发有限公司", "金桥区"],
        },
        schema={k: pl.Utf8 for k in ("kind", "uscc", "id_type", "id_number", "name")},
    )
    resolved, created = resolve_subjects(frame)
    assert created == 3
    assert names("金桥") == ["上海金桥出口加工区开发股份有限公司"]
    assert names("金桥出口") == ["上海金桥出口加工区开发股份有限公司"]
    assert search("金桥区")["count"] == 0  # the person

    renamed = resolved["subject_id"][0]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE subjects_subject SET name = %s WHERE id = %s",
            ["上海碧云国际社区开发有限公司", renamed],
        )
        # a registry update that keeps the name changes nothing
        cursor.execute("UPDATE subjects_subject SET name = name, registered = %s", [True])
    for old in ("金桥", "金桥出口", "出口加工区"):
        assert search(old)["count"] == 0, old
    for new in ("碧云", "碧云国际", "国际社区开发"):
        assert names(new) == ["上海碧云国际社区开发有限公司"], new

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM subjects_subject WHERE id = %s", [renamed])
    assert search("碧云")["count"] == 0 and search("碧云国际")["count"] == 0


def test_orm_writes_are_followed(registry):
    subject = organisation("上海世博园区开发有限公司", 800)
    assert names("世博园区") == ["上海世博园区开发有限公司"]
    subject.name = "上海前滩国际商务区开发有限公司"
    subject.save()
    assert search("世博园区")["count"] == 0 and search("世博")["count"] == 0
    assert names("前滩国际") == ["上海前滩国际商务区开发有限公司"]
    # a subject that became a natural person's record leaves the public index
    subject.kind = "person"
    subject.save()
    assert search("前滩国际")["count"] == 0
    subject.kind = "legal"
    subject.save()
    assert search("前滩国际")["count"] == 1
    subject.delete()
    assert search("前滩国际")["count"] == 0 and search("前滩")["count"] == 0


@pytest.fixture
def many(registry):
    """Enough matches for the paths of common texts (with FEW_MATCHES made small)."""
    Subject.objects.bulk_create(
        Subject(
            kind="legal", uscc=valid_uscc(1000 + i), name=f"上海浦东{'新' * (i % 4)}科技{i}有限公司"
        )
        for i in range(60)
    )


@pytest.mark.parametrize("few", [3, 2000])
@pytest.mark.parametrize("q", ["浦东", "科技", "浦东新", "有限公司", "新科技1"])
def test_every_page_and_count_agree_with_the_plain_query(many, monkeypatch, few, q):
    monkeypatch.setattr(queries, "FEW_MATCHES", few)
    want = expected(q)
    assert len(want) > 3
    assert list(search_public(q).values_list("name", flat=True)) == want
    got = []
    for page in range(1, len(want) // 4 + 3):
        body = search(q, page=page, page_size=4)
        assert body["count"] == len(want) and body["page"] == page
        got += [r["name"] for r in body["results"]]
    assert got == want


def test_page_size_is_capped(many):
    assert len(search_page("上海", 1, 500).results) == queries.MAX_PAGE_SIZE > 0
    assert Client().get("/api/v1/subjects", {"q": "上海", "page_size": 51}).status_code == 422


def test_the_response_keeps_its_shape(registry):
    body = search("生物医药", page_size=1)
    assert set(body) == {"count", "page", "page_size", "results"}
    assert (body["count"], body["page"], body["page_size"]) == (1, 1, 1)
    assert body["results"] == [
        {
            "code": valid_uscc(502),
            "name": "上海张江生物医药基地开发有限公司",
            "kind": "legal",
            "legal_rep_name": "",
            "status": "",
        }
    ]
    assert search("张江", page=3) == {"count": 3, "page": 3, "page_size": 20, "results": []}


def test_the_indexes_exist_after_all_migrations(db):
    """A later migration that rebuilds the subject table on SQLite drops its triggers: this
    test then fails (see the docstring of migration subjects 0002)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT type, name FROM sqlite_master WHERE name LIKE %s OR name = %s",
                [f"{queries.NAME_FTS}%", queries.ORDER_INDEX],
            )
            found = set(cursor.fetchall())
            assert {
                ("table", queries.NAME_FTS),
                ("trigger", f"{queries.NAME_FTS}_insert"),
                ("trigger", f"{queries.NAME_FTS}_update"),
                ("trigger", f"{queries.NAME_FTS}_delete"),
                ("index", queries.ORDER_INDEX),
            } <= found
            cursor.execute(f"SELECT sql FROM sqlite_master WHERE name = '{queries.NAME_FTS}'")
            assert "trigram" in cursor.fetchone()[0]
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'subjects_subject'"
            )
            found = dict(cursor.fetchall())
            assert "gin_trgm_ops" in found["subjects_subject_name_trgm"]
            assert queries.ORDER_INDEX in found
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            assert cursor.fetchone()
