"""The population of a run: market subjects (with valid USCCs) and natural persons.

Deterministic for (subjects, seed, today); row 0 of the organisations is always the real
Zhangjiang company, so that searches have a known subject.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from .identifiers import _matrix, _strings, org_check_chars, with_ric_check, with_uscc_check
from .series import _alnum, _choice, _dates, _days, _digits, _pick, _unique, _when
from .words import (
    _BIRTH_DIVISIONS,
    _BRAND_CHARS,
    _BRAND_WORDS,
    _FORMS,
    _GIVEN_F,
    _GIVEN_M,
    _INDUSTRY_WORDS,
    _OTHER_DISTRICTS,
    _OTHER_ORGS,
    _SCOPE,
    _SCOPE_NEW,
    _SCOPE_OLD,
    _SHOPS,
    _SURNAME_BOOST,
    _SURNAMES,
    _TOWNS,
)


@dataclass
class Population:
    orgs: pl.DataFrame  # legal and individual subjects; row 0 is the Zhangjiang company
    persons: pl.DataFrame  # natural persons: legal representatives and record subjects


ZHANGJIANG = {
    "name": "上海张江高科技园区开发股份有限公司",
    "uscc": "913100001322084958",
    "kind": "legal",
    "prefix": "91",
    "form": "股份有限公司（上市）",
    "industry": "K",
    "capital": 15_486_850_000,  # yuan
    "est": date(1996, 4, 18),
    "town": "张江镇",
    "address": "中国（上海）自由贸易试验区龙东大道200号",
    "scope": "在张江高科技园区内从事土地的综合开发经营，园区内房地产开发经营，物业管理；"
    "高科技项目的投资与经营。【依法须经批准的项目，经相关部门批准后方可开展经营活动】",
    "rep": 0,
    "division": "310000",
}


def _persons(rng: np.random.Generator, n: int) -> pl.DataFrame:
    def make(k: int) -> pl.DataFrame:
        male = rng.random(k) < 0.55
        year = np.clip(np.rint(rng.normal(1976, 11, k)), 1950, 2004).astype(np.int64)
        jan1 = np.array([_days(date(y, 1, 1)) for y in range(1950, 2006)])
        length = jan1[year - 1949] - jan1[year - 1950]
        birth = _dates(jan1[year - 1950] + (rng.random(k) * length).astype(np.int64))
        div = np.empty(k, dtype=object)
        for y in np.unique(year):
            ok = [(c, w) for c, a, b, w in _BIRTH_DIVISIONS if a <= y <= b]
            rows = np.flatnonzero(year == y)
            div[rows] = np.array([c for c, _ in ok])[_choice(rng, rows.size, [w for _, w in ok])]
        seq = pl.Series(rng.integers(0, 500, k) * 2 + male).cast(pl.String).str.zfill(3)
        ric = with_ric_check(
            pl.Series(div.tolist(), dtype=pl.String) + birth.dt.strftime("%Y%m%d") + seq
        )
        doc = _choice(rng, k, [985, 10, 5])  # 0 身份证, 1 港澳居民来往内地通行证, 2 护照
        other = _when(doc == 1, "H" + _digits(rng, k, 8), "E" + _digits(rng, k, 8))
        pid = _when(doc == 0, ric, other)
        weights = [_SURNAME_BOOST.get(c, 1) * (3 if i < 20 else 1) for i, c in enumerate(_SURNAMES)]
        surname = _pick(_SURNAMES, _choice(rng, k, weights))
        given = []
        for _ in range(2):
            m = _pick(_GIVEN_M, rng.integers(0, len(_GIVEN_M), k))
            f = _pick(_GIVEN_F, rng.integers(0, len(_GIVEN_F), k))
            given.append(_when(male, m, f))
        name = surname + given[0] + _when(rng.random(k) < 0.75, given[1], "")
        return pl.DataFrame(
            {"pname": name, "pid": pid, "pdoc": doc.astype(np.int8), "birth": birth, "male": male}
        )

    return _unique(make, n, set(), "pid")


def _addresses(rng: np.random.Generator, division: pl.Series) -> pl.DataFrame:
    n = division.len()
    towns = _choice(rng, n, [t[1] for t in _TOWNS])
    roads = [r for t in _TOWNS for r in t[2].split()]
    first = np.cumsum([0] + [len(t[2].split()) for t in _TOWNS])
    counts = np.diff(first)
    road = _pick(roads, first[towns] + rng.integers(0, 1 << 30, n) % counts[towns])
    num = pl.Series((np.floor(rng.pareto(1.2, n) * 60) % 2500 + 1).astype(np.int64)).cast(pl.String)
    room = (
        pl.Series(rng.integers(1, 12, n)).cast(pl.String)
        + "幢"
        + pl.Series(rng.integers(1, 25, n) * 100 + rng.integers(1, 12, n)).cast(pl.String)
        + "室"
    )
    town = _pick([t[0] for t in _TOWNS], towns)
    ftz = (rng.random(n) < 0.08) & town.is_in(
        ["张江镇", "陆家嘴街道", "金桥镇", "高桥镇"]
    ).to_numpy()
    pudong = _when(
        ftz, "中国（上海）自由贸易试验区", "上海市浦东新区" + _when(rng.random(n) < 0.5, town, "")
    )
    streets = pl.DataFrame(
        [
            (d, p, v.split()[0] + v.split()[p])
            for d, v in _OTHER_DISTRICTS.items()
            for p in (1, 2, 3)
        ],
        schema={"d": pl.String, "p": pl.Int64, "text": pl.String},
        orient="row",
    )
    where = pl.DataFrame({"d": division, "p": rng.integers(1, 4, n)})
    other = where.join(streets, on=["d", "p"], how="left", maintain_order="left")["text"]
    address = _when(other.is_not_null(), other, pudong + road) + num + "号"
    address = address + _when(rng.random(n) < 0.45, room, "")
    return pl.DataFrame({"town": _when(other.is_null(), town), "address": address})


def _org_codes(rng, prefix: pl.Series, division: pl.Series, style: pl.Series) -> pl.Series:
    """USCCs with valid GB 11714 and GB 32100 check characters; style MA1/MA7/MAC/MJ/num."""
    n = prefix.len()
    numeric = pl.Series(rng.choice(np.array(list("1567")), n)) + _digits(rng, n, 7)
    letters = style + _alnum(rng, n, 6)
    body = _when(style == "num", numeric, letters.str.slice(0, 8))
    m8 = _matrix(body, 8)
    org = _strings(np.hstack([m8, org_check_chars(m8)[:, None]]))
    return with_uscc_check(prefix + division + org)


def _rep_of(rng, n_person: int, k: int) -> pl.Series:
    """Legal representatives from the person pool: a few persons represent many companies."""
    return pl.Series((n_person * rng.random(k) ** 1.3).astype(np.int64))


def _brand(rng, k: int) -> pl.Series:
    chars = list(_BRAND_CHARS)
    pair = _pick(chars, rng.integers(0, len(chars), k)) + _pick(
        chars, rng.integers(0, len(chars), k)
    )
    word = _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), k))
    word2 = _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), k))
    extra = _pick(chars, rng.integers(0, len(chars), k))
    r = rng.random(k)
    return _when(r < 0.35, word, _when(r < 0.8, pair, _when(r < 0.9, word + extra, word + word2)))


def _enterprises(rng, k: int) -> pl.DataFrame:
    """Enterprise names (上海 + brand + industry word + legal form), forms and industries."""
    iw = _choice(rng, k, [w[2] for w in _INDUSTRY_WORDS])
    form = _choice(rng, k, [f[2] for f in _FORMS])
    form_code = _pick([f[0] for f in _FORMS], form)
    town = _pick([t[0][:2] for t in _TOWNS], _choice(rng, k, [t[1] for t in _TOWNS]))
    suffix = (
        pl.DataFrame({"s": _pick([f[1] for f in _FORMS], form), "t": town})
        .select(pl.col("s").str.replace("{town}", pl.col("t"), literal=True))
        .to_series()
    )
    foreign = (form_code == "有限责任公司（外商投资）").to_numpy()
    p = rng.random(k)
    prefix = _when(
        foreign & (p < 0.6),
        "",
        _when(p < 0.04, "上海张江", _when(p < 0.07, "上海浦东", _when(p < 0.09, "上海市", "上海"))),
    )
    mid = _when(prefix == "", "（上海）", "")
    name = prefix + _brand(rng, k) + mid + _pick([w[0] for w in _INDUSTRY_WORDS], iw) + suffix
    industry = _pick([w[1] for w in _INDUSTRY_WORDS], iw)
    return pl.DataFrame({"name": name, "form": form_code, "industry": industry})


def _individuals(rng, persons: pl.DataFrame, n_person: int, k: int) -> pl.DataFrame:
    """Individual businesses named after their keeper (浦东新区 + town + 张记 + shop)."""
    rep = _rep_of(rng, n_person, k)
    surname = persons["pname"].gather(rep).str.slice(0, 1)
    shop = rng.integers(0, len(_SHOPS), k)
    mark = _pick(("记", "氏", "家", "", "记", "阿"), rng.integers(0, 6, k))
    town = _pick([t[0] for t in _TOWNS], _choice(rng, k, [t[1] for t in _TOWNS]))
    core = _when(mark == "阿", mark + surname, surname + mark)
    core = _when(
        rng.random(k) < 0.3, _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), k)), core
    )
    name = (
        "浦东新区"
        + _when(rng.random(k) < 0.6, town, "")
        + core
        + _pick([s[0] for s in _SHOPS], shop)
    )
    return pl.DataFrame({"name": name, "rep": rep, "industry": _pick([s[1] for s in _SHOPS], shop)})


def _others(rng, k: int) -> pl.DataFrame:
    """Other organisations (institutions, social organisations, collectives) by pattern."""
    t = _choice(rng, k, [o[5] for o in _OTHER_ORGS])
    kinds = np.concatenate([[0], np.cumsum([len(o[4]) for o in _OTHER_ORGS])])
    kind_words = [w for o in _OTHER_ORGS for w in o[4]]
    kind = _pick(kind_words, kinds[t] + rng.integers(0, 1 << 30, k) % np.diff(kinds)[t])
    frame = pl.DataFrame(
        {
            "pattern": _pick([o[3] for o in _OTHER_ORGS], t),
            "brand": _brand(rng, k),
            "town": _pick([x[0] for x in _TOWNS], rng.integers(0, len(_TOWNS), k)),
            "word": _pick(
                [w[0] for w in _INDUSTRY_WORDS], rng.integers(0, len(_INDUSTRY_WORDS), k)
            ),
            "kind": kind,
        }
    )
    name = frame.select(
        pl.col("pattern")
        .str.replace("{brand}", pl.col("brand"), literal=True)
        .str.replace("{town}", pl.col("town"), literal=True)
        .str.replace("{word}", pl.col("word"), literal=True)
        .str.replace("{kind}", pl.col("kind"), literal=True)
    ).to_series()
    return pl.DataFrame(
        {
            "name": name,
            "prefix": _pick([o[0] for o in _OTHER_ORGS], t),
            "form": _pick([o[1] for o in _OTHER_ORGS], t),
            "industry": _pick([o[2] for o in _OTHER_ORGS], t),
        }
    )


def _organisations(
    rng, named: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], n_person: int, today: date
) -> pl.DataFrame:
    """The three kinds of organisation in one frame, with establishment date and division."""
    e, i, o = named
    n_ent, n_ind, n_oth = e.height, i.height, o.height
    t_days = _days(today)
    span = t_days - _days(date(1990, 1, 1))
    est_e = t_days - 30 - (span * rng.random(n_ent) ** 2.5).astype(np.int64)
    est_i = (
        t_days
        - 30
        - ((t_days - _days(date(2005, 1, 1))) * rng.random(n_ind) ** 1.5).astype(np.int64)
    )
    est_o = t_days - 30 - (span * rng.random(n_oth)).astype(np.int64)
    divisions = ["310115", "310000", "310101", "310104", "310106", "310110", "310112"]
    div_e = _pick(divisions, _choice(rng, n_ent, [85, 7, 2, 2, 1.5, 1.5, 1]))
    frames = [
        e.with_columns(
            prefix=pl.lit("91"),
            kind=pl.lit("legal"),
            rep=_rep_of(rng, n_person, n_ent),
            est=_dates(est_e),
            division=div_e,
        ),
        i.with_columns(
            prefix=pl.lit("92"),
            kind=pl.lit("individual"),
            form=pl.lit("个体工商户"),
            est=_dates(est_i),
            division=pl.lit("310115"),
        ),
        o.with_columns(
            kind=pl.lit("legal"),
            rep=_rep_of(rng, n_person, n_oth),
            est=_dates(est_o),
            division=pl.lit("310115"),
        ),
    ]
    cols = ["name", "prefix", "kind", "form", "industry", "rep", "est", "division"]
    return pl.concat([f.select(cols) for f in frames])


def _unique_codes(rng, orgs: pl.DataFrame) -> pl.Series:
    """Each organisation's USCC, in the style of its year (numeric before 2015-10, then
    MA1/MA7/MAC), distinct and never the Zhangjiang demo company's."""
    est = orgs["est"]
    style = _when(
        orgs["prefix"].is_in(["51", "52"]),
        "MJ",
        _when(
            orgs["prefix"].is_in(["12", "N2"]) | (est < date(2015, 10, 1)),
            "num",
            _when(est < date(2021, 1, 1), "MA1", _when(est < date(2023, 1, 1), "MA7", "MAC")),
        ),
    )
    uscc = _org_codes(rng, orgs["prefix"], orgs["division"], style)
    dup = ~uscc.is_first_distinct() | (uscc == ZHANGJIANG["uscc"])
    while dup.any():  # rare collisions of random organisation codes: redraw those rows
        rows = np.flatnonzero(dup.to_numpy())
        redo = _org_codes(
            rng, orgs["prefix"].gather(rows), orgs["division"].gather(rows), style.gather(rows)
        )
        uscc = uscc.scatter(rows, redo)
        dup = ~uscc.is_first_distinct() | (uscc == ZHANGJIANG["uscc"])
    return uscc


def _capital(rng, orgs: pl.DataFrame) -> pl.Series:
    """Registered capital in yuan: mostly round sums, a long tail; small for individuals."""
    n = orgs.height
    common = np.array([10, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000], np.float64)
    cap = np.where(
        rng.random(n) < 0.7,
        common[rng.integers(0, 10, n)],
        np.round(np.exp(rng.normal(np.log(200), 1.4, n)), 1),
    )
    cap = np.where(orgs["kind"].to_numpy() == "individual", rng.integers(1, 50, n), cap)
    return pl.Series(np.rint(np.clip(cap, 1, 2_000_000) * 10_000).astype(np.int64))


def build_population(subjects: int, seed: int, today: date) -> Population:
    """The market subjects and the natural-person pool, deterministic for (subjects, seed).
    The steps draw from one generator in a fixed order: reorder them and every file changes."""
    rng = np.random.default_rng([seed, 1])
    subjects = max(subjects, 1)
    n_person = max(30, math.ceil(subjects * 0.10))
    persons = _persons(rng, n_person)
    n_ind = round(subjects * 0.08) if subjects >= 30 else 0
    n_oth = round(subjects * 0.03) if subjects >= 30 else 0
    n_ent = subjects - 1 - n_ind - n_oth
    taken = {ZHANGJIANG["name"]}
    enterprises = functools.partial(_enterprises, rng)
    individuals = functools.partial(_individuals, rng, persons, n_person)
    others = functools.partial(_others, rng)
    e = _unique(enterprises, n_ent, taken, "name")
    i = _unique(individuals, n_ind, taken, "name") if n_ind else individuals(1).head(0)
    o = _unique(others, n_oth, taken, "name") if n_oth else others(1).head(0)
    orgs = _organisations(rng, (e, i, o), n_person, today)
    uscc = _unique_codes(rng, orgs)
    capital = _capital(rng, orgs)
    addr = _addresses(rng, orgs["division"])
    new = orgs["est"].dt.year() >= 2021
    scope = (
        _when(new, _SCOPE_NEW[0], _SCOPE_OLD[0])
        + orgs["industry"].replace_strict(_SCOPE, default=_SCOPE["L"])
        + _when(new, _SCOPE_NEW[1], _SCOPE_OLD[1])
    )
    orgs = orgs.with_columns(
        uscc=uscc, capital=capital, scope=scope, town=addr["town"], address=addr["address"]
    )
    zj = (
        pl.DataFrame({k: [v] for k, v in ZHANGJIANG.items()}).select(orgs.columns).cast(orgs.schema)
    )
    return Population(orgs=pl.concat([zj, orgs]), persons=persons)
