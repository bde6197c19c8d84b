"""The demo data generator writes realistic, valid-where-promised files in every format.

Pure tests (no database). The rows are checked by a small validator written here from the
catalog, independent of the generator and of the ingest pipeline: every good row must pass
it and every row the manifest counts as bad must fail it with exactly one problem.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from stdnum.cn import ric, uscc

from creditplus.records import demo

TODAY = date(2025, 11, 15)
SUBJECTS = 400
ZHANGJIANG = "上海张江高科技园区开发股份有限公司"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    files = demo.generate(out, SUBJECTS, today=TODAY)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return out, files, manifest


@pytest.fixture(scope="module")
def catalog():
    specs, _, tables = demo.load_reference()
    return {s["code"]: s for s in specs}, tables


def read(path: Path, fmt: str) -> pl.DataFrame:
    """A demo file as a frame of strings, the way its declared format says to read it."""
    raw = path.read_bytes()
    if fmt == "xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    if fmt == "json":
        rows = json.loads(raw.decode("utf-8"))
        return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String), orient="row")
    encoding = {"csv-gb18030": "gb18030", "csv-utf8-bom": "utf-8-sig"}.get(fmt, "utf-8")
    text = raw.decode(encoding)
    return pl.read_csv(io.StringIO(text), infer_schema=False)


@pytest.fixture(scope="module")
def checked(generated, catalog):
    """Every file as (manifest entry, item spec, rows with code keys, problems of each row)."""
    out, _, manifest = generated
    specs, tables = catalog
    result = []
    for meta in manifest["files"]:
        spec = specs[meta["item"]]
        checker = Checker(spec, tables)
        df = read(out / meta["path"], meta["format"])
        rows = list(to_codes(df, spec).iter_rows(named=True))
        result.append((meta, checker, df, rows, [checker.problems(r) for r in rows]))
    return result


# ---------------------------------------------------------------- an independent validator


class Checker:
    """Counts the problems of one row against a catalog item (codes as column names)."""

    def __init__(self, spec: dict, tables: dict) -> None:
        self.spec, self.fields = spec, spec["fields"]
        self.by_code = {f["code"]: f for f in self.fields}
        self.values = {}
        for f in self.fields:
            t = tables.get(f.get("code_table") or "", {}).get("values", [])
            self.values[f["code"]] = {str(v["label"]): str(v["code"]) for v in t} | {
                str(v["code"]): str(v["code"]) for v in t
            }
        subject = spec.get("subject", {})
        self.id_pairs = [
            (subject.get(n), subject.get(t))
            for n, t in (("id_number", "id_type"), ("legal_rep_id_number", "legal_rep_id_type"))
            if subject.get(n)
        ]

    def codes(self, code: str, value: str | None) -> list[str] | None:
        if value is None:
            return None
        table = self.values[code]
        parts = (
            re.split(r"[;；、,]", value) if self.by_code[code]["type"] == "multicode" else [value]
        )
        return [table.get(p.strip(), "?" + p) for p in parts]

    def problems(self, row: dict) -> list[str]:
        found: list[str] = []
        dates: dict[str, date] = {}
        for f in self.fields:
            c, v, typ = f["code"], row.get(f["code"]), f["type"]
            if v is None or v == "":
                if f.get("required"):
                    found.append(f"{c}: required")
                continue
            if f.get("max_length") and len(v) > int(f["max_length"]):
                found.append(f"{c}: too long")
            if typ in ("code", "multicode") and f.get("code_table"):
                if any(x.startswith("?") for x in self.codes(c, v)):
                    found.append(f"{c}: unknown code {v}")
            elif typ == "date":
                try:
                    d = datetime.strptime(
                        v.replace("/", "-"), "%Y-%m-%d" if len(v) == 10 else "%Y%m%d"
                    )
                    dates[c] = d.date()
                except ValueError:
                    found.append(f"{c}: bad date {v}")
                    continue
                if f.get("not_future") and dates[c] > TODAY:
                    found.append(f"{c}: future")
            elif typ == "decimal":
                m = re.fullmatch(r"\d+(?:\.(\d+))?", v)
                if not m or len(m.group(1) or "") > int(f.get("scale") or 0):
                    found.append(f"{c}: bad decimal {v}")
            elif typ == "integer" and not re.fullmatch(r"\d+", v):
                found.append(f"{c}: bad integer {v}")
            elif typ == "uscc":
                if len(v) != 18 or uscc.calc_check_digit(v[:17]) != v[17]:
                    found.append(f"{c}: bad uscc {v}")
                elif v[:8].isdigit() and not uscc.is_valid(v):
                    found.append(f"{c}: bad uscc {v}")
        for f in self.fields:
            c, ref = f["code"], f.get("not_before")
            if ref and c in dates and ref in dates and dates[c] < dates[ref]:
                found.append(f"{c}: before {ref}")
            rule = f.get("required_if")
            if rule and not row.get(c) and row.get(rule["field"]):
                have = self.codes(rule["field"], row[rule["field"]])
                wanted = {
                    self.values[rule["field"]].get(x, x)
                    for x in rule.get("in") or rule.get("contains")
                }
                if wanted & set(have):
                    found.append(f"{c}: required_if")
        for number, kind in self.id_pairs:
            value, kind_value = row.get(number), row.get(kind) if kind else "身份证"
            if (
                value
                and kind_value
                and self.codes(kind, kind_value) == ["身份证"]
                and not ric.is_valid(value)
            ):
                found.append(f"{number}: bad resident id {value}")
        return found


def to_codes(df: pl.DataFrame, spec: dict) -> pl.DataFrame:
    names = {f["label"]: f["code"] for f in spec["fields"]}
    return df.rename({c: names.get(c, c) for c in df.columns})


# ---------------------------------------------------------------- tests


def test_same_seed_gives_the_same_bytes_with_one_or_two_processes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    demo.generate(a, 100, today=TODAY, workers=1)
    demo.generate(b, 100, today=TODAY, workers=2)
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_another_seed_gives_other_subjects():
    one = demo.build_population(200, 1, TODAY).orgs
    two = demo.build_population(200, 2, TODAY).orgs
    assert one.row(0) == two.row(0)  # the Zhangjiang company is always there
    assert one["uscc"].head(50).to_list() != two["uscc"].head(50).to_list()


def test_manifest_counts_equal_the_rows_in_the_files(generated, checked):
    _, files, manifest = generated
    assert [demo.DemoFile(**f) for f in manifest["files"]] == files
    assert manifest["subjects"] == SUBJECTS
    assert manifest["seed"] == 20171115
    for meta, _, df, _, _ in checked:
        assert df.height == meta["rows"], meta["path"]
        assert 0 <= meta["bad_rows"] == sum(meta["bad_kinds"].values())
    assert manifest["records"] == sum(f["rows"] for f in manifest["files"])


def test_every_file_is_in_its_declared_format_and_encoding(generated):
    out, _, manifest = generated
    seen = set()
    for meta in manifest["files"]:
        raw = (out / meta["path"]).read_bytes()
        fmt = meta["format"]
        seen.add(fmt)
        if fmt == "csv-utf8-bom":
            assert raw.startswith(b"\xef\xbb\xbf")
        elif fmt == "csv-utf8":
            assert not raw.startswith(b"\xef\xbb\xbf")
            raw.decode("utf-8")
        elif fmt == "csv-gb18030":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            raw.decode("gb18030")
        elif fmt == "xlsx":
            assert raw.startswith(b"PK")
            assert pl.read_excel(out / meta["path"]).height == meta["rows"]
            assert meta["rows"] <= demo.MAX_XLSX_ROWS
        elif fmt == "json":
            rows = json.loads(raw)
            assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
    assert seen == set(demo.FORMATS)


def test_headers_are_the_catalog_labels_or_codes(checked):
    styles = set()
    for meta, checker, df, _, _ in checked:
        fields = checker.fields
        key = "label" if meta["headers"] == "labels" else "code"
        assert df.columns == [f[key] for f in fields], meta["path"]
        styles.add(meta["headers"])
    assert styles == {"labels", "codes"}


def test_every_item_has_rows_from_its_providers(generated, catalog):
    specs, _ = catalog
    _, _, manifest = generated
    items = {f["item"] for f in manifest["files"] if f["rows"] > 0}
    assert items == set(specs)
    for code, spec in specs.items():
        providers = spec.get("providers")
        if isinstance(providers, list):
            depts = {f["department"] for f in manifest["files"] if f["item"] == code}
            assert depts <= set(providers)


def test_volume_is_about_56_records_per_subject_with_a_few_percent_bad(generated):
    _, _, manifest = generated
    assert 0.85 * SUBJECTS * 56 <= manifest["records"] <= 1.15 * SUBJECTS * 56
    assert 0.015 <= manifest["bad_rows"] / manifest["records"] <= 0.035
    dj = sum(f["rows"] for f in manifest["files"] if f["item"] == "DJ")
    assert 0.9 * SUBJECTS <= dj <= SUBJECTS  # one registration per market subject


def test_good_rows_are_valid_and_bad_rows_have_exactly_one_problem(checked):
    kinds_seen = set()
    for meta, _, _, _, problems in checked:
        bad = [len(p) for p in problems if p]
        assert len(bad) == meta["bad_rows"], (meta["path"], meta["bad_kinds"])
        assert set(bad) <= {1}, meta["path"]
        kinds_seen |= set(meta["bad_kinds"])
    assert kinds_seen == set(demo.BAD_KINDS)


def test_identifiers_of_good_rows_pass_python_stdnum(checked):
    counted = {"uscc": 0, "ric": 0}
    for _, checker, _, rows, problems in checked:
        subject = checker.spec.get("subject", {})
        for row, found in zip(rows, problems, strict=True):
            if found:
                continue
            code = row.get(subject.get("uscc", ""))
            if code and code[:8].isdigit():
                assert uscc.is_valid(code), code
                counted["uscc"] += 1
            for number, kind in (
                ("id_number", "id_type"),
                ("legal_rep_id_number", "legal_rep_id_type"),
            ):
                value = row.get(subject.get(number, ""))
                kind_value = row.get(subject.get(kind, ""))
                if value and checker.codes(subject.get(kind), kind_value) == ["身份证"]:
                    assert ric.is_valid(value), value
                    counted["ric"] += 1
    assert counted["uscc"] > 1000
    assert counted["ric"] > 100


def test_natural_keys_are_unique_within_an_item(checked):
    keys: dict[str, set] = {}
    for meta, checker, _, rows, _ in checked:
        seen = keys.setdefault(meta["item"], set())
        for row in rows:
            parts = []
            for k in checker.spec["natural_key"]:
                v = row.get(k)
                parts.append(tuple(checker.codes(k, v)) if v and checker.values[k] else v)
            if any(p is None or p == "" for p in parts):
                continue
            assert tuple(parts) not in seen, (meta["path"], parts)
            seen.add(tuple(parts))


def test_zhangjiang_company_is_there_with_its_real_code(checked):
    assert uscc.is_valid("913100001322084958")
    hits = 0
    for _, _, df, _, _ in checked:
        for column in df.columns:
            if df[column].dtype == pl.String and (df[column] == ZHANGJIANG).any():
                row = df.filter(pl.col(column) == ZHANGJIANG).row(0)
                assert "913100001322084958" in row
                hits += 1
    assert hits >= 3  # registration, licenses, penalties


def test_document_numbers_look_like_the_real_ones(checked):
    numbers = [
        row["CF_WSH"]
        for meta, _, _, rows, _ in checked
        if meta["item"] == "CF" and meta["department"] == "SCJG"
        for row in rows
        if row["CF_WSH"]
    ]
    assert numbers
    assert all(re.fullmatch(r"沪浦市监处〔20\d\d〕\d+号", n) for n in numbers)


def test_large_items_are_split_into_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "MAX_FILE_ROWS", 300)
    monkeypatch.setattr(demo, "CHUNK_ROWS", 200)
    calls = []
    files = demo.generate(
        tmp_path, 150, today=TODAY, progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)
    parts = [f for f in files if re.search(r"-\d+\.\w+$", f.path)]
    assert parts
    assert all(f.rows <= 300 for f in files)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    for meta in manifest["files"]:
        assert read(tmp_path / meta["path"], meta["format"]).height == meta["rows"]
