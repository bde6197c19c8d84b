"""Deliberately invalid rows: about 2–3 % of a file, each with exactly one problem."""

from __future__ import annotations

import numpy as np
import polars as pl

from .identifiers import _USCC_BYTES, _matrix, _strings, uscc_check_values, with_ric_check
from .series import _const, _dates, _day_numbers, _days, _pick, _shift, _when
from .words import _FILLER, _UNKNOWN_VALUES

BAD_KINDS = (
    "uscc_check",  # wrong check character of the subject's USCC
    "id_date",  # resident ID with an impossible birth date (check character right)
    "missing_required",
    "unknown_code",  # a value that is not in the field's code table
    "future_date",  # a not_future date after today
    "end_before_start",  # a not_before date earlier than the date it follows
    "negative_amount",
    "overlong_text",
    "conditional_missing",  # required_if holds but the field is empty (fine without amount…)
)


class _BadRows:
    """Picks and breaks the bad rows of ``records._Chunk``, which this class is mixed into."""

    def candidates(self, codes: dict[str, pl.Series]) -> dict[str, list[tuple[str, np.ndarray]]]:
        """For every bad kind, (field, rows where that field can carry the problem)."""
        it, out, n, is_p = self.it, self.out, self.n, self.cache["is_p"]
        present = {c: s.is_not_null().to_numpy() for c, s in out.items()}
        present |= {c: d.is_not_null().to_numpy() for c, d in self.dates.items()}
        typ = {f["code"]: f.get("type", "text") for f in it.fields}
        role = it.roles
        cands: dict[str, list[tuple[str, np.ndarray]]] = {k: [] for k in BAD_KINDS}
        if "uscc" in it.subject:
            cands["uscc_check"].append((it.subject["uscc"], present[it.subject["uscc"]]))
        for key, who in (("id_number", is_p), ("legal_rep_id_number", ~is_p)):
            c = it.subject.get(key)
            if c:
                ric = out[c].str.contains(r"^\d{17}[\dX]$").fill_null(False).to_numpy()
                cands["id_date"].append((c, ric & who))
        not_null = lambda c: present[c]  # noqa: E731
        guarded = {f.get("not_before") for f in it.fields if f.get("not_future")}
        for f in it.fields:
            c = f["code"]
            if f.get("required") and role[c] != "subj.kind":
                cands["missing_required"].append((c, not_null(c)))
            if typ[c] in ("code", "multicode") and it.table(f) and not role[c].startswith("subj."):
                cands["unknown_code"].append((c, not_null(c)))
            if typ[c] == "date" and f.get("not_future") and c not in guarded:
                cands["future_date"].append((c, not_null(c)))
            if typ[c] == "date" and f.get("not_before") in self.dates:
                cands["end_before_start"].append((c, not_null(c) & present[f["not_before"]]))
            if typ[c] in ("decimal", "integer"):
                cands["negative_amount"].append((c, not_null(c)))
            limit = int(f.get("max_length") or 0)
            if typ[c] == "text" and role[c] == "text" and (limit >= 100 or 0 < limit < 18):
                cands["overlong_text"].append((c, np.ones(n, bool)))
            rule = f.get("required_if")
            cond = (
                self.condition(rule, codes)
                if isinstance(rule, dict) and not f.get("required")
                else None
            )
            if cond is not None:
                cands["conditional_missing"].append((c, cond & not_null(c)))
        return cands

    def spoil(self, codes: dict[str, pl.Series]) -> None:
        """Break about bad_rate of the rows, each with exactly one problem."""
        count = round(self.n * self.s.bad_rate)
        if count == 0:
            return
        cands = self.candidates(codes)
        kinds = [k for k in BAD_KINDS if any(m.any() for _, m in cands[k])]
        if not kinds:
            return
        weights = np.array(
            [
                2.0 if k in ("conditional_missing", "uscc_check", "missing_required") else 1.0
                for k in kinds
            ]
        )
        quota = self.rng.multinomial(count, weights / weights.sum())
        for kind, q in zip(kinds, quota, strict=True):
            fields_ = cands[kind]
            mat = np.stack([m for _, m in fields_], axis=1) & (self.bad < 0)[:, None]
            rows = np.flatnonzero(mat.any(axis=1))
            if q == 0 or rows.size == 0:
                continue
            rows = np.sort(self.rng.choice(rows, size=min(int(q), rows.size), replace=False))
            which = np.argmax(self.rng.random((rows.size, len(fields_))) * mat[rows], axis=1)
            self.bad[rows] = BAD_KINDS.index(kind)
            for j, (code, _) in enumerate(fields_):
                if (which == j).any():
                    self.mutate(kind, self.it.by_code[code], rows[which == j])

    def dependents(self, code: str) -> list[str]:
        """The date field and every date that must not be before it, transitively."""
        found = [code]
        for c in found:
            found += [
                f["code"]
                for f in self.it.fields
                if f.get("not_before") == c and f["code"] in self.dates and f["code"] not in found
            ]
        return found

    def mutate(self, kind: str, f: dict, rows: np.ndarray) -> None:
        code, rng, out, k, n = f["code"], self.rng, self.out, rows.size, self.n
        mask = np.zeros(n, bool)
        mask[rows] = True

        def put(values: pl.Series) -> None:
            out[code] = out[code].clone().scatter(rows, values)

        if kind == "uscc_check":
            m = _matrix(out[code].gather(rows), 18)
            m[:, 17] = _USCC_BYTES[(uscc_check_values(m[:, :17]) + rng.integers(1, 31, k)) % 31]
            put(_strings(m))
        elif kind == "id_date":
            mmdd = _pick(
                ("0230", "0231", "1301", "0015", "1232", "0431", "0631", "1131", "0000"),
                rng.integers(0, 9, k),
            )
            s = out[code].gather(rows)
            put(with_ric_check(s.str.slice(0, 10) + mmdd + s.str.slice(14, 3)))
        elif kind in ("missing_required", "conditional_missing"):
            out[code] = _when(mask, None, out[code])
            if code == self.it.subject.get("uscc"):
                # An old identifier would resolve the row to its registered subject
                # (records.legacy), which makes it a good row: drop them too.
                for key in ("org_code", "reg_no"):
                    other = self.it.subject.get(key)
                    if other in out:
                        out[other] = _when(mask, None, out[other])
            if code in self.dates:
                self.dates[code] = _when(mask, None, self.dates[code])
        elif kind == "unknown_code":
            known = set(self.it.table_codes(f)) | {str(v.get("label")) for v in self.it.table(f)}
            choices = (_UNKNOWN_VALUES.get(str(f.get("code_table"))), "其它", "未知", "99", "Z9")
            value = next(v for v in choices if v and v not in known)
            put(
                out[code].gather(rows) + ";" + value
                if f.get("type") == "multicode"
                else _const(value, k)
            )
        elif kind == "future_date":
            delta = np.zeros(n, np.int64)
            delta[rows] = (
                _days(self.today) + rng.integers(1, 60, k) - _day_numbers(self.dates[code])[rows]
            )
            for c in self.dependents(code):  # later dates move along: one problem only
                self.dates[c] = _shift(self.dates[c], delta)
        elif kind == "end_before_start":
            d = _day_numbers(self.dates[code])
            d[rows] = _day_numbers(self.dates[f["not_before"]])[rows] - rng.integers(1, 60, k)
            self.dates[code] = _when(self.dates[code].is_not_null(), _dates(d))
        elif kind == "negative_amount":
            put("-" + out[code].gather(rows))
        elif kind == "overlong_text":
            limit = int(f["max_length"])
            if limit < 18 and "uscc" in self.it.subject:  # the whole USCC pasted into 组织机构代码
                u = out[self.it.subject["uscc"]].gather(rows)
                put(_when(u.is_not_null(), u, "X" * (limit + 3)))
            else:
                long_ = out[code].gather(rows).fill_null("") + _FILLER * (limit // len(_FILLER) + 2)
                put(long_.str.slice(0, limit + int(rng.integers(1, 40))))
