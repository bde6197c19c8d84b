"""Rows of one stream, a chunk at a time: subjects, dates, row profiles and assembly.

``_Chunk`` draws the subjects and dates of ``n`` rows, then the value of every field
(``values._FieldValues``), then spoils about ``bad_rate`` of the rows (``bad_rows._BadRows``).
"""

from __future__ import annotations

import re
import zlib
from datetime import date

import numpy as np
import polars as pl

from .bad_rows import _BadRows
from .catalog import _EVENT, Item, Stream, _core
from .population import Population
from .series import _add_months, _choice, _dates, _day_numbers, _days, _shift, _when
from .values import _FieldValues
from .words import (
    _COMMON_WORDS,
    _DEPT_HINTS,
    _PENALTIES,
    _PENALTIES_PERSON,
    _PERMITS,
    _SERIOUS,
    _VIOLATIONS,
)


def _eligible(item: Item, pop: Population) -> np.ndarray:
    """Indices into pop.orgs of the organisations the item may be about."""
    mask = pop.orgs["kind"].is_in([k for k in item.kinds if k != "person"])
    if item.market_only:
        mask = mask & pop.orgs["prefix"].is_in(["91", "92", "93"])
    return np.flatnonzero(mask.to_numpy())


# Real credit data is lopsided: most companies have no untrustworthy record at all, a few
# have many, and honours go to other companies than penalties. Items listed here draw their
# subjects from one end of a population-wide risk order: "risky" items from the riskiest
# share of the organisations, "sound" items from the soundest share.
_CONCENTRATION = {
    "CF": ("risky", 0.25),
    "JYYC": ("risky", 0.12),
    "SBQF": ("risky", 0.10),
    "QXGZ": ("risky", 0.08),
    "JZBLXW": ("risky", 0.08),
    "SPAQ": ("risky", 0.10),
    "XFAQ": ("risky", 0.10),
    "CNWY": ("risky", 0.15),
    "ZSCQ": ("risky", 0.05),
    "SSWF": ("risky", 0.03),
    "SXBZX": ("risky", 0.04),
    "YZWF": ("risky", 0.03),
    "AQSC": ("risky", 0.03),
    "NSXY_A": ("sound", 0.15),
    "RYJL": ("sound", 0.05),
    "SHTZXY": ("sound", 0.05),
}


def risk_order(pop: Population, seed: int) -> np.ndarray:
    """Each organisation's place in the population-wide risk order (0 = riskiest)."""
    return np.random.default_rng([seed, 7]).permutation(pop.orgs.height)


def subject_pool(item: Item, pop: Population, seed: int) -> np.ndarray:
    """Rows of pop.orgs the item's records are about, in the order its streams use them:
    shuffled, cut to the risky or sound end for concentrated items (``_CONCENTRATION``)."""
    rng = np.random.default_rng([seed, 3, zlib.crc32(item.code.encode())])
    eligible = _eligible(item, pop)
    pool = eligible[rng.permutation(eligible.size)]
    end, share = _CONCENTRATION.get(item.code, ("", 1.0))
    if end and not item.per_subject and pool.size:
        order = np.argsort(risk_order(pop, seed)[pool], kind="stable")
        if end == "sound":
            order = order[::-1]
        pool = pool[order[: max(20, int(pool.size * share))]]
    if item.per_subject and 0 in pool:  # the Zhangjiang company opens the first file
        pool = np.concatenate([[0], pool[pool != 0]])
    return pool


def person_share(department: str) -> float:
    """Share of natural persons among the subjects of a department's records (of items
    about persons too)."""
    return max(_DEPT_HINTS.get(department, ("", "", 0.05))[2], 0.05)


class _Pools:
    """Per-item subject pools shared by the item's streams."""

    def __init__(self, item: Item, pop: Population, seed: int) -> None:
        self.pool = subject_pool(item, pop, seed)
        self.industry = pop.orgs["industry"].to_numpy()
        self.prefix = pop.orgs["prefix"].to_numpy()
        self.prefs: dict[str, np.ndarray | None] = {}

    def preferred(self, dept: str) -> np.ndarray | None:
        """The department's usual subjects (sections or USCC prefixes), if enough of them."""
        if dept not in self.prefs:
            want = _DEPT_HINTS.get(dept, ("", "", 0, 0, 0))[1].split()
            sub = self.pool[
                np.isin(self.industry[self.pool], want) | np.isin(self.prefix[self.pool], want)
            ]
            self.prefs[dept] = sub if want and sub.size >= 20 else None
        return self.prefs[dept]


class _Chunk(_FieldValues, _BadRows):
    """Builds ``n`` rows of one stream: a DataFrame of strings keyed by field code."""

    def __init__(
        self,
        stream: Stream,
        pools: _Pools,
        pop: Population,
        state: dict,
        n: int,
        rng: np.random.Generator,
        today: date,
        first: bool,
    ) -> None:
        self.s, self.it, self.pools, self.pop, self.state = stream, stream.item, pools, pop, state
        self.n, self.rng, self.today, self.first = n, rng, today, first
        self.cache: dict[str, object] = {}
        self.out: dict[str, pl.Series] = {}
        self.dates: dict[str, pl.Series] = {}
        self.multi: dict[str, pl.Series] = {}
        self.bad = np.full(n, -1, np.int8)  # index into BAD_KINDS, -1 for a good row

    # ---- subjects
    def subjects(self) -> pl.DataFrame:
        n, rng, it, pool = self.n, self.rng, self.it, self.pools.pool
        if self.s.subject_slice is not None:
            start = self.s.subject_slice[0] + self.state.get("pos", 0)
            org = pool[start : start + n]
            self.state["pos"] = self.state.get("pos", 0) + n
            is_p = np.zeros(n, bool)
        elif pool.size:
            skew = 1.0 if not it.keyed_by_construction else 1.6 if it.penalty_field else 1.25
            org = pool[(pool.size * rng.random(n) ** skew).astype(np.int64)]
            pref = self.pools.preferred(self.s.dept["code"])
            if pref is not None:
                m = rng.random(n) < 0.6
                org[m] = pref[(pref.size * rng.random(int(m.sum())) ** skew).astype(np.int64)]
            is_p = rng.random(n) < self.s.person_share
        else:
            org, is_p = np.zeros(n, np.int64), np.ones(n, bool)
        if self.first and "legal" in it.kinds and pool.size:
            org[0], is_p[0] = 0, False  # the literal Zhangjiang company, for search tests
        orgs = self.pop.orgs[org]
        who = np.where(is_p, rng.integers(0, self.pop.persons.height, n), orgs["rep"].to_numpy())
        return pl.concat([orgs, self.pop.persons[who]], how="horizontal").with_columns(
            is_p=pl.Series(is_p)
        )

    # ---- dates
    def base_dates(self, w: pl.DataFrame) -> pl.Series:
        n, t = self.n, _days(self.today)
        label = str(self.it.by_code.get(self.it.decision or "", {}).get("label", ""))
        if re.search(r"成立|设立|注册日期", label):
            return w["est"]
        if self.it.per_subject:  # latest registration approval: between founding and today
            est = _day_numbers(w["est"])
            return _dates(est + ((t - est) * self.rng.random(n) ** 0.4).astype(np.int64))
        d = t - (5 * 365.25 * self.rng.random(n) ** 1.3).astype(np.int64)  # more recent, more
        weekday = (d + 3) % 7  # Monday 0
        shift = np.where(weekday == 5, -1, np.where(weekday == 6, -2, 0))
        return _dates(d + np.where(self.rng.random(n) < 0.97, shift, 0))

    def make_dates(self, w: pl.DataFrame) -> None:
        it, rng, n = self.it, self.rng, self.n
        d0 = self.base_dates(w)
        severity = self.penalty()[3] if it.penalty_field else None
        starts = {it.by_code[it.decision].get("not_before")} if it.decision else set()

        def resolve(f: dict, depth: int = 0) -> pl.Series:
            code, label, ref = f["code"], str(f.get("label", "")), f.get("not_before")
            if code in self.dates:
                return self.dates[code]
            optional = not f.get("required")
            if code == it.decision:
                d = d0
            elif re.search(r"成立|设立|营业期限自|经营期限自", label):
                d = w["est"]
            elif "出生" in label:
                d = w["birth"]
            elif code in starts:  # a date the decision must not precede: 立案日期, 承诺作出日期
                d = _shift(d0, -rng.integers(0, 366, n))
            elif re.search(r"期间起|所属期起|期起$", label):
                d = _shift(d0, -rng.integers(30, 721, n))
            elif ref in it.by_code and depth < 8:
                base = resolve(it.by_code[ref], depth + 1)
                if re.search(r"公示截止|公布截止|公示期|有效期", label) and severity is not None:
                    d = _add_months(base, np.array([3, 12, 36])[severity])
                elif re.search(r"营业期限至|经营期限至", label):
                    d = _add_months(base, rng.choice([120, 240, 360, 600], n))
                    if "长期" in label and optional:  # empty means 长期
                        d = _when(rng.random(n) < 0.4, d)
                elif re.search(r"期间止|所属期止|期止$", label):
                    end = _day_numbers(d0)
                    d = _dates(np.minimum(_day_numbers(base) + rng.integers(30, 366, n), end))
                elif re.search(r"注销|吊销|撤销", label) and f.get("required_if"):
                    d = d0  # the status change is the latest registration act
                elif _EVENT.search(label) and optional:  # removed / deleted later, if at all
                    d = _shift(base, rng.integers(30, 721, n))
                    d = _when((d <= self.today) & pl.Series(rng.random(n) < 0.25), d)
                elif re.search(r"起始|开始|起$|自$|公布日期|发布日期|公示日期", label):
                    d = _shift(base, np.where(rng.random(n) < 0.5, 0, rng.integers(1, 16, n)))
                elif re.search(r"至|止|截止|届满|到期", label):
                    d = _add_months(base, rng.choice([12, 36, 36, 60, 60, 72], n))
                else:
                    d = _shift(base, rng.integers(0, 181, n))
            elif re.search(r"自$|起始|开始|起$", label):
                d = _shift(d0, np.where(rng.random(n) < 0.8, 0, rng.integers(1, 11, n)))
            else:
                d = _shift(d0, rng.integers(0, 31, n))
            if f.get("not_future"):
                capped = pl.select(pl.min_horizontal(pl.lit(d), pl.lit(self.today))).to_series()
                d = _when(d.is_null(), None, capped)
            if ref in self.dates:  # keep the order the catalog asks for
                later = pl.select(pl.max_horizontal(pl.lit(d), pl.lit(self.dates[ref]))).to_series()
                d = _when(d.is_null(), None, later)
            self.dates[code] = d.cast(pl.Date).alias(code)
            return self.dates[code]

        for f in it.fields:
            if f.get("type") == "date":
                resolve(f)

    # ---- row profiles
    def penalty(self) -> tuple[pl.Series, np.ndarray, np.ndarray, np.ndarray]:
        """(categories as lists, fine in yuan, confiscation in yuan, severity 0/1/2)."""
        if "penalty" not in self.cache:
            n, rng, is_p = self.n, self.rng, self.cache["is_p"]
            allowed = set(self.it.table_codes(self.it.by_code[self.it.penalty_field]))
            org = [(c, w) for c, w in _PENALTIES if set(c) <= allowed] or [(("罚款",), 1)]
            per = [(c, w) for c, w in _PENALTIES_PERSON if set(c) <= allowed] or org
            pick = np.where(
                is_p,
                _choice(rng, n, [w for _, w in per]) + len(org),
                _choice(rng, n, [w for _, w in org]),
            )
            cats = pl.Series([list(c) for c, _ in org + per]).gather(pick)
            small = np.array([200, 500, 1000, 2000, 3000, 5000])[rng.integers(0, 6, n)]
            r = rng.random(n)
            # most fines small, some moderate, a few large, very few huge (≥ 100万元: serious)
            typical = [np.log(12_000), np.log(200_000), np.log(1_500_000)]
            spread = rng.normal(0, 1, n) * np.where(r < 0.88, 0.8, np.where(r < 0.98, 0.6, 0.9))
            large = np.exp(
                np.where(r < 0.88, typical[0], np.where(r < 0.98, typical[1], typical[2])) + spread
            )
            fine = np.where(r < 0.6, small, large)
            fine = np.maximum(np.rint(fine / 100) * 100, 100).astype(np.int64)
            fine = np.where(
                is_p, np.array([50, 100, 200, 200, 500, 1000, 2000])[rng.integers(0, 7, n)], fine
            )
            conf = np.maximum(
                np.rint(np.exp(rng.normal(np.log(8_000), 1.2, n)) / 10) * 10, 50
            ).astype(np.int64)

            def has(c: str) -> np.ndarray:
                return cats.list.contains(c).to_numpy()

            fine = np.where(has("罚款"), fine, 0)
            conf = np.where(has("没收违法所得") | has("没收非法财物"), conf, 0)
            serious = (fine >= 1_000_000) | np.any([has(c) for c in _SERIOUS], axis=0)
            minor = ~serious & (fine <= 3000) & ~has("没收违法所得") & ~has("暂扣许可证件")
            self.cache["penalty"] = (cats, fine, conf, np.where(serious, 2, np.where(minor, 0, 1)))
            self.cache["combos"] = ([c for c, _ in org + per], pick)
        return self.cache["penalty"]  # type: ignore[return-value]

    def _profile(self, name: str, table: dict, schema: list[str]) -> pl.DataFrame:
        if name not in self.cache:
            rows = table.get(self.s.dept["code"], table[""])
            idx = self.rng.integers(0, len(rows), self.n)
            self.cache[name] = pl.DataFrame([list(r) for r in rows], schema=schema, orient="row")[
                idx
            ]
        return self.cache[name]  # type: ignore[return-value]

    def violation(self) -> pl.DataFrame:
        """The department's usual cases, those that fit the item's name first (食品, 消防…)."""
        if "violation" not in self.cache:
            rows = _VIOLATIONS.get(self.s.dept["code"], _VIOLATIONS[""])
            words = {self.it.name[i : i + 2] for i in range(len(self.it.name) - 1)} - _COMMON_WORDS
            score = [sum(w in "".join(r) for w in words) for r in rows]
            rows = [r for r, sc in zip(rows, score, strict=True) if sc == max(score)]
            idx = self.rng.integers(0, len(rows), self.n)
            frame = pl.DataFrame(
                [list(r) for r in rows], schema=["vtype", "vfact", "vlaw", "vart"], orient="row"
            )
            self.cache["violation"] = frame[idx]
        return self.cache["violation"]  # type: ignore[return-value]

    def permit(self) -> pl.DataFrame:
        return self._profile("permit", _PERMITS, ["pname", "pprefix", "pcontent", "pcat"])

    def rep_keep(self) -> np.ndarray:
        """Rows that give the legal representative's document (type and number together)."""
        if "rep_keep" not in self.cache:
            self.cache["rep_keep"] = self.rng.random(self.n) < 0.95
        return self.cache["rep_keep"]  # type: ignore[return-value]

    # ---- required_if
    def condition(self, rule: dict, codes: dict[str, pl.Series]) -> np.ndarray | None:
        other = self.it.by_code.get(rule.get("field", ""))
        if other is None or other["code"] not in codes:
            return None
        want = self.it.to_codes(other, rule.get("in") or rule.get("contains") or [])
        if other["code"] in self.multi:
            lst = self.multi[other["code"]]
            hit = lst.list.eval(pl.element().is_in(want)).list.any()
        else:
            hit = codes[other["code"]].is_in(want)
        return hit.fill_null(False).to_numpy()

    # ---- build
    def build(self) -> tuple[pl.DataFrame, np.ndarray]:
        """(rows as strings keyed by field code, the bad kind of every row or -1)."""
        w = self.subjects()
        self.cache["is_p"] = w["is_p"].to_numpy()
        self.make_dates(w)
        out = self.out
        for f in self.it.fields:
            out[f["code"]] = self.value(f, w).cast(pl.String).alias(f["code"])
        for f in self.it.fields:  # 移出原因, 移出机关… exist only when the event happened
            word = _EVENT.search(_core(str(f.get("label", ""))))
            if word and f.get("type") != "date" and not f.get("required"):
                when = next(
                    (
                        d
                        for c, d in self.dates.items()
                        if word.group() in str(self.it.by_code[c].get("label"))
                    ),
                    None,
                )
                if when is not None:
                    out[f["code"]] = _when(when.is_not_null(), out[f["code"]])
        codes = dict(out)
        for f in self.it.fields:  # conditional fields exist only when their condition holds
            rule = f.get("required_if")
            cond = (
                self.condition(rule, codes)
                if isinstance(rule, dict) and not f.get("required")
                else None
            )
            if cond is not None:
                out[f["code"]] = _when(cond, out[f["code"]])
                if f["code"] in self.dates:
                    self.dates[f["code"]] = _when(cond, self.dates[f["code"]])
        for f in self.it.fields:  # text never longer than allowed
            if f.get("max_length") and f.get("type", "text") == "text":
                out[f["code"]] = out[f["code"]].str.slice(0, int(f["max_length"]))
        self.spoil(codes)
        for c, d in self.dates.items():
            out[c] = d.dt.strftime(self.s.date_fmt)
        if self.s.separator != ";":  # multicode with the file's own separator
            for c in self.multi:
                out[c] = out[c].str.replace_all(";", self.s.separator, literal=True)
        if self.s.labels_for_codes:
            for f in self.it.fields:
                if f.get("type") == "code":
                    out[f["code"]] = out[f["code"]].replace(
                        {str(v["code"]): str(v.get("label") or v["code"]) for v in self.it.table(f)}
                    )
        return pl.DataFrame([out[f["code"]].alias(f["code"]) for f in self.it.fields]), self.bad
