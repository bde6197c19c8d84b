"""Field values of a chunk: by field type, code table and the hooks keyed on field labels.

Realism lives here: document numbers, fines, permits, addresses, business scopes… with a
plain fallback for labels no hook knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from .series import _choice, _const, _digits, _pick, _shift, _when
from .words import (
    _BRAND_WORDS,
    _CLASSES,
    _CLOSE_REASONS,
    _DEPT_HINTS,
    _FACTS,
    _HONOURS,
    _LICENSED,
    _MATTERS,
    _PROJECTS,
    _REMARKS,
    _SECTIONS,
    _SPARSE_TABLES,
    _TABLE_WEIGHTS,
    _TOWNS,
    DJZT_WEIGHTS,
)


@dataclass(frozen=True)
class _TextContext:
    """What every text hook of :meth:`_FieldValues.text_value` reads about one field."""

    label: str
    role: str
    name: pl.Series
    someone: pl.Series
    decision_year: pl.Series


class _FieldValues:
    """The value hooks of ``records._Chunk``, which this class is mixed into."""

    # ---- value helpers
    def counter(self, key: str, years: pl.Series, order: pl.Series | None = None) -> pl.Series:
        """Serial numbers per year, in ``order`` (dates) within a chunk and increasing across
        chunks, with realistic gaps."""
        offsets: dict[int, int] = self.state.setdefault(key, {})
        df = pl.DataFrame(
            {
                "y": years,
                "o": order if order is not None else years,
                "step": self.rng.integers(1, 4, self.n),
            }
        )
        df = df.with_row_index("i").sort("o", "i")
        df = df.with_columns(
            seq=pl.col("step").cum_sum().over("y")
            + pl.col("y").replace_strict(offsets, default=0, return_dtype=pl.Int64)
        )
        for y, top in df.group_by("y").agg(pl.col("seq").max()).iter_rows():
            offsets[int(y)] = int(top)
        return df.sort("i")["seq"]

    def decision_years(self) -> pl.Series:
        if self.it.decision in self.dates:
            return self.dates[self.it.decision].dt.year().fill_null(self.today.year)
        return pl.Series([self.today.year] * self.n, dtype=pl.Int32)

    def doc_numbers(self, f: dict) -> pl.Series:
        """沪浦市监处〔2025〕1234号 — unique per authority, item and field."""
        years = self.decision_years()
        order = self.dates[self.it.decision] if self.it.decision in self.dates else None
        seq = self.counter("doc:" + f["code"], years, order).cast(pl.String)
        y = years.cast(pl.String)
        label = str(f.get("label", ""))
        if "行政区划" in label:  # 承诺编码: division + date + serial
            d = self.dates.get(self.it.decision or "", pl.Series([self.today] * self.n))
            return "310115" + d.fill_null(self.today).dt.strftime("%Y%m%d") + seq.str.zfill(6)
        dept = self.s.dept["code"]
        if "案号" in label or dept == "FY":  # court style
            word = "执" if "案号" in label and "执行" in self.it.name else "民初"
            return "（" + y + "）沪0115" + word + seq + "号"
        kind = "处" if "处罚" in label else {"CF": "处", "XK": "许"}.get(self.it.code)
        kind = kind or ("列" if "列入" in label else self.it.name.removeprefix("行政")[:1])
        prefix = _DEPT_HINTS.get(dept, (f"沪浦{dept}",))[0]
        return prefix + kind + "〔" + y + "〕" + seq + "号"

    def amount(self, f: dict, yuan: np.ndarray) -> pl.Series:
        """Yuan amounts as the field wants them: 万元 when its label says so, ≤ scale decimals."""
        scale = int(f.get("scale", 2) if f.get("scale") is not None else 2)
        y = pl.Series(np.asarray(yuan, np.int64))
        if "万元" in str(f.get("label", "")):
            step = 10 ** max(0, 4 - scale)
            y = (y / step).round(0).cast(pl.Int64) * step
            frac = (y % 10_000).cast(pl.String).str.zfill(4).str.strip_chars_end("0")
            whole = (y // 10_000).cast(pl.String)
            return _when(frac == "", whole, whole + "." + frac)
        return y.cast(pl.String) + _when(self.rng.random(self.n) < 0.5, ".00", "")

    # ---- field values
    def value(self, f: dict, w: pl.DataFrame) -> pl.Series:
        typ, role, n, is_p = f.get("type", "text"), self.it.roles[f["code"]], self.n, w["is_p"]
        if role == "subj.uscc":
            return _when(~is_p, w["uscc"])
        if role == "auth.uscc":
            return _const(str(self.s.dept["uscc"]), n)
        if role == "subj.id_number":
            return _when(is_p, w["pid"])
        if typ == "id_number":
            return _when(~is_p & pl.Series(self.rep_keep()), w["pid"])
        if typ == "code":
            return self.code_value(f, w)
        if typ == "multicode":
            self.multi[f["code"]] = self.multi_value(f)
            return self.multi[f["code"]].list.join(";")
        if typ in ("decimal", "integer"):
            return self.number(f, w)
        if typ.startswith("date"):
            return _const(None, n)  # formatted at the end, after the bad rows
        return self.text_value(f, w)

    def code_value(self, f: dict, w: pl.DataFrame) -> pl.Series:
        n, rng, role = self.n, self.rng, self.it.roles[f["code"]]
        vals = self.it.table(f)
        codes = [str(v["code"]) for v in vals]
        labels = [str(v.get("label", "")) for v in vals]
        if not codes:
            return _const(None, n)

        def find(*words: str) -> str | None:
            return next(
                (
                    c
                    for c, lab in zip(codes, labels, strict=True)
                    if all(x in c + lab for x in words)
                ),
                None,
            )

        if role == "subj.kind":
            legal = find("法人") or codes[0]
            person, individual = find("自然人") or legal, find("个体") or legal
            return _when(w["is_p"], person, _when(w["kind"] == "individual", individual, legal))
        if find("身份证") and (role.endswith("id_type") or codes[0] == find("身份证")):
            idc = find("身份证")
            doc = w["pdoc"].replace_strict(
                {0: idc, 1: find("港澳") or idc, 2: find("护照") or idc}, return_dtype=pl.String
            )
            if role == "subj.id_type":
                return _when(w["is_p"], doc)
            return _when(~w["is_p"] & pl.Series(self.rep_keep()), doc)
        if {"个体工商户", "有限责任公司"} <= set(codes):
            return w["form"].replace_strict({c: c for c in codes}, default=codes[-1])
        if "I" in codes and "F" in codes:
            return w["industry"].replace_strict({c: c for c in codes}, default=codes[-1])
        if "CNY" in codes:
            fx = [c for c in ("USD", "HKD", "EUR", "JPY") if c in codes] or ["CNY"]
            return _when(
                w["form"].str.contains("外商|外国"), _pick(fx, rng.integers(0, len(fx), n)), "CNY"
            )
        if "存续" in codes:
            return _pick(codes, _choice(rng, n, [DJZT_WEIGHTS.get(c, 0.5) for c in codes]))
        named = [
            c for c, lab in zip(codes, labels, strict=True) if len(lab) > 1 and lab in self.it.name
        ]
        if named:  # 纳税信用A级纳税人: the item is about one value
            return _const(named[0], n)
        table = str(f.get("code_table", ""))
        known = _TABLE_WEIGHTS.get(table, {})
        weights = [known.get(c, 0.5) if known else 1 / (i + 1) ** 1.2 for i, c in enumerate(codes)]
        skewed = _pick(codes, _choice(rng, n, weights))
        if table in _SPARSE_TABLES and not f.get("required"):
            return _when(rng.random(n) < _SPARSE_TABLES[table], skewed)
        if find("普通") and find("特许"):  # 许可类别 follows the permit
            pc = self.permit()["pcat"]
            return _when(pc.is_in(codes) & pl.Series(rng.random(n) < 0.9), pc, skewed)
        valid = next(
            (c for c, lab in zip(codes, labels, strict=True) if lab.startswith("有效")), None
        )
        invalid = next((c for c, lab in zip(codes, labels, strict=True) if "无效" in lab), None)
        if valid and invalid:  # 当前状态 follows the end of validity
            end = self.end_date()
            ok = (end >= self.today).fill_null(True) if end is not None else pl.Series([True] * n)
            return _when(ok & pl.Series(rng.random(n) < 0.97), valid, invalid)
        return skewed

    def end_date(self) -> pl.Series | None:
        end = (self.it.spec.get("publicity") or {}).get("end_field")
        if end in self.dates:
            return self.dates[end]
        ends = [c for c, f in self.it.by_code.items() if f.get("not_before") and c in self.dates]
        return self.dates[ends[0]] if ends else None

    def multi_value(self, f: dict) -> pl.Series:
        if f["code"] == self.it.penalty_field:
            return self.penalty()[0]
        codes, n = self.it.table_codes(f), self.n
        if not codes:
            return pl.Series([[]] * n, dtype=pl.List(pl.String))
        a = _pick(codes, _choice(self.rng, n, [1 / (i + 1) for i in range(len(codes))]))
        b = _pick(codes, self.rng.integers(0, len(codes), n))
        two = pl.Series(self.rng.random(n) < 0.2) & (a != b)
        return pl.select(
            pl.when(two).then(pl.concat_list(a, b)).otherwise(pl.concat_list(a))
        ).to_series()

    def number(self, f: dict, w: pl.DataFrame) -> pl.Series:
        label, n, rng = str(f.get("label", "")), self.n, self.rng
        if f.get("type") == "integer":
            if "死亡" in label:
                return _pick("0111123", rng.integers(0, 7, n))
            if re.search(r"人数|员工|职工|人次", label):
                return pl.Series(
                    np.maximum(1, np.exp(rng.normal(2.5, 1.2, n))).astype(np.int64)
                ).cast(pl.String)
            if re.search(r"年度|年份", label):  # evaluated the year before publication
                return (self.decision_years() - 1).cast(pl.String)
            if re.search(r"月数", label):
                return pl.Series(rng.integers(1, 25, n)).cast(pl.String)
            if re.search(r"年数", label):
                return pl.Series(rng.integers(1, 11, n)).cast(pl.String)
            return pl.Series(rng.integers(1, 100, n)).cast(pl.String)
        if "罚款" in label and self.it.penalty_field:
            return self.amount(f, self.penalty()[1])
        if "没收" in label and self.it.penalty_field:
            return self.amount(f, self.penalty()[2])
        if re.search(r"注册资本|出资|资金数额", label):
            return self.amount(f, w["capital"].to_numpy())
        if re.search(r"得分|分数|评分", label):
            score = pl.Series(np.clip(rng.normal(82, 8, n), 40, 100)).round(
                int(f.get("scale") or 0)
            )
            return score.cast(pl.String)
        if "滞纳金" in label:
            return self.amount(f, np.rint(np.exp(rng.normal(np.log(3_000), 1.0, n)) / 10) * 10)
        return self.amount(f, np.rint(np.exp(rng.normal(np.log(50_000), 1.3, n)) / 100) * 100)

    def fact(self, name: pl.Series) -> pl.Series:
        """违法事实: what happened (the item's reason code, else the department's usual case)."""
        n, rng, v = self.n, self.rng, self.violation()
        what = v["vfact"]
        reason = self.it.reason_field
        if reason and reason in self.out:
            labels = {
                str(x["code"]): str(x.get("label") or x["code"])
                for x in self.it.table(self.it.by_code[reason])
            }
            what = self.out[reason].replace_strict(labels, default="", return_dtype=pl.String)
            what = _when(what.str.starts_with("其他") | (what == ""), v["vfact"], what)
        d = self.dates.get(self.it.decision or "", pl.Series([self.today] * n))
        when = _shift(d.fill_null(self.today), -rng.integers(10, 90, n)).dt.strftime(
            "%Y年%-m月%-d日"
        )
        parts = {"{name}": name, "{when}": when, "{fact}": what, "{law}": v["vlaw"]}
        texts = [
            pl.select(pl.concat_str([parts.get(p, pl.lit(p)) for p in t])).to_series()
            for t in _FACTS
        ]
        pick = rng.integers(0, len(texts), n)
        return _when(pick == 0, texts[0], _when(pick == 1, texts[1], texts[2]))

    def text_value(self, f: dict, w: pl.DataFrame) -> pl.Series:
        """A text field, by the first hook its label matches (tried in this order)."""
        n, rng = self.n, self.rng
        label, role = str(f.get("label", "")), self.it.roles[f["code"]]
        name = _when(w["is_p"], w["pname"], w["name"])
        # Drawn for every text field, matched or not, so that the generator's random
        # sequence (and so every demo file) stays the same.
        someone = self.pop.persons["pname"].gather(rng.integers(0, self.pop.persons.height, n))
        context = _TextContext(label, role, name, someone, self.decision_years())
        for hook in (
            self._text_identity,
            self._text_decision,
            self._text_registration,
            self._text_projects,
            self._text_obligations,
        ):
            value = hook(f, w, context)
            if value is not None:
                return value
        return self.violation()["vfact"]

    def _text_identity(self, f: dict, w: pl.DataFrame, c: _TextContext) -> pl.Series | None:
        """Text fields about the subject, people, the deciding department, documents, violations
        (None when the label is none of them)."""
        n, rng, dept = self.n, self.rng, self.s.dept
        label, role, name, someone, decision_year = (
            c.label,
            c.role,
            c.name,
            c.someone,
            c.decision_year,
        )
        if role == "subj.name":
            return name
        if "中介机构" in label:
            firm = (
                "上海"
                + _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), n))
                + "税务师事务所有限公司"
            )
            return _when(rng.random(n) < 0.1, firm)
        if re.search(r"专利号|商标|申请号", label):
            patent = (
                "ZL"
                + decision_year.cast(pl.String)
                + "1"
                + _digits(rng, n, 7)
                + "."
                + _digits(rng, n, 1)
            )
            return _when(rng.random(n) < 0.6, patent, "第" + _digits(rng, n, 8) + "号商标")
        if re.search(r"直接责任|有关人员|财务负责人|人员$|姓名$", label):
            return _when(~w["is_p"] & pl.Series(rng.random(n) < 0.6), someone)
        if role == "subj.legal_rep" or re.search(r"法定代表人|负责人|经营者|投资人", label):
            return _when(~w["is_p"], w["pname"])
        if role == "auth.name":
            return _const(dept["name"], n)
        if role == "doc":
            return self.doc_numbers(f)
        if re.search(r"违法行为类型|违法行为名称|案由", label):
            return self.violation()["vtype"]
        if re.search(r"事实|失信行为|违法行为", label):
            return self.fact(name)
        if re.search(r"依据", label):
            v = self.violation()
            return "依据" + v["vlaw"] + v["vart"] + "的规定"
        if re.search(r"暂扣或吊销|证照名称及编号", label):
            p = self.permit()
            return p["pname"] + "（" + p["pprefix"] + _digits(rng, n, 8) + "）"
        return None

    def _text_decision(self, f: dict, w: pl.DataFrame, c: _TextContext) -> pl.Series | None:
        """Text fields about penalty contents, licence documents and contents
        (None when the label is none of them)."""
        n, rng = self.n, self.rng
        label = c.label
        if re.search(r"处罚内容|处罚结果|处理.{0,4}内容", label):
            if self.it.penalty_field:
                return self.penalty_text()
            outcome = (
                "予以警告",
                "责令改正并罚款人民币一万元",
                "通报批评",
                "责令限期改正",
                "罚款人民币五千元",
            )
            return _pick(outcome, _choice(rng, n, [3, 3, 1, 2, 2]))
        if "文书名称" in label:
            return _pick(
                ("准予行政许可决定书", "行政许可决定书", "准予许可决定书"),
                _choice(rng, n, [7, 2, 1]),
            )
        if re.search(r"证书名称|许可证名称|证件名称", label):
            return self.permit()["pname"]
        if "许可内容" in label:
            p = self.permit()
            return _when(
                p["pcontent"].str.starts_with("准予"),
                p["pcontent"],
                "准予核发" + p["pname"] + "。" + p["pcontent"],
            )
        if "许可项目" in label:
            v = w["industry"].replace_strict(_LICENSED, default=None, return_dtype=pl.String)
            return _when(rng.random(n) < 0.8, v)
        return None

    def _text_registration(self, f: dict, w: pl.DataFrame, c: _TextContext) -> pl.Series | None:
        """Text fields about registration numbers and codes, places, scope, industry, phones
        (None when the label is none of them)."""
        n, rng = self.n, self.rng
        label = c.label
        if "注册号" in label:
            old = (w["est"] < date(2015, 10, 1)) & pl.Series(rng.random(n) < 0.5) & ~w["is_p"]
            return _when(old, "310115" + _digits(rng, n, 9))
        if "组织机构代码" in label:
            return _when(~w["is_p"] & pl.Series(rng.random(n) < 0.15), w["uscc"].str.slice(8, 9))
        if re.search(r"税务登记号|事业单位证书号|社会组织登记证号", label):
            return _const(None, n)
        if re.search(r"场所名称", label):
            return _when(w["is_p"], w["address"], w["name"])
        if re.search(r"街道|镇", label):
            return w["town"]
        if re.search(r"地址|住所|经营场所", label):
            return w["address"]
        if re.search(r"经营范围|业务范围", label):
            return w["scope"]
        if "行业代码" in label:
            codes = pl.DataFrame({"s": list(_CLASSES), "c": [v.split() for v in _CLASSES.values()]})
            c = w.select("industry").join(codes, left_on="industry", right_on="s", how="left")["c"]
            c = c.fill_null(pl.lit(["7299"], dtype=pl.List(pl.String)))
            return c.list.get(
                pl.Series(rng.integers(0, 1 << 20, n)) % c.list.len(), null_on_oob=True
            )
        if "行业" in label:
            return w["industry"].replace_strict(_SECTIONS, default="其他")
        if re.search(r"电话|手机|联系方式", label):
            mobile = "1" + _pick("3589", rng.integers(0, 4, n)) + _digits(rng, n, 9)
            return _when(
                rng.random(n) < 0.7,
                mobile,
                "021-" + _pick("56", rng.integers(0, 2, n)) + _digits(rng, n, 7),
            )
        return None

    def _text_projects(self, f: dict, w: pl.DataFrame, c: _TextContext) -> pl.Series | None:
        """Text fields about years, honours, projects, certificates and other numbers
        (None when the label is none of them)."""
        n, rng = self.n, self.rng
        label, decision_year = c.label, c.decision_year
        if "年度" in label:  # 2024—2025年度
            return (
                (decision_year - 2).cast(pl.String)
                + "—"
                + (decision_year - 1).cast(pl.String)
                + "年度"
            )
        if "荣誉名称" in label:
            return (
                decision_year.cast(pl.String)
                + "年度浦东新区"
                + _pick(_HONOURS, rng.integers(0, len(_HONOURS), n))
            )
        if re.search(r"项目名称|工程名称", label):
            place = _pick([t[0][:2] for t in _TOWNS], rng.integers(0, len(_TOWNS), n))
            return (
                "浦东新区"
                + place
                + _pick(_BRAND_WORDS, rng.integers(0, len(_BRAND_WORDS), n))
                + _pick(_PROJECTS, rng.integers(0, len(_PROJECTS), n))
            )
        if "项目代码" in label:
            ym = (decision_year - 1).cast(pl.String).str.slice(2, 2) + _pick(
                ("03", "06", "09", "11"), rng.integers(0, 4, n)
            )
            return ym + "-310115-04-01-" + _digits(rng, n, 6)
        if "资质证书" in label:
            return "D2" + _digits(rng, n, 8)
        if "不良行为代码" in label:
            return (
                _pick("ABCDEF", rng.integers(0, 6, n))
                + pl.Series(rng.integers(1, 4, n)).cast(pl.String)
                + "-"
                + pl.Series(rng.integers(1, 8, n)).cast(pl.String)
            )
        if "海关编码" in label:
            return "3122" + _digits(rng, n, 6)
        if "海关" in label:
            return _pick(
                ("浦东海关", "外高桥港区海关", "洋山海关", "浦东国际机场海关"),
                rng.integers(0, 4, n),
            )
        if "食品" in label and re.search(r"编号|证号", label):
            return "JY3" + "1011" + _digits(rng, n, 9)
        if re.search(r"登记编号|单位编号", label):
            return _digits(rng, n, 10)
        if re.search(r"编号|证号|证书号", label):
            seq = self.counter("permit:" + f["code"], pl.Series([0] * n))
            return self.permit()["pprefix"] + (seq + 1000).cast(pl.String).str.zfill(6)
        if re.search(r"编码", label):
            return _digits(rng, n, min(int(f.get("max_length") or 10), 18))
        return None

    def _text_obligations(self, f: dict, w: pl.DataFrame, c: _TextContext) -> pl.Series | None:
        """Text fields about commitments, obligations, reasons, remarks and other names
        (None when the label is none of them)."""
        n, rng = self.n, self.rng
        label = c.label
        if "从业禁止" in label:
            return _when(rng.random(n) < 0.05, "五年内不得从事相关生产经营管理工作")
        if "追究" in label:
            return _pick(
                ("撤销相关行政许可决定", "记入信用记录并依法予以惩戒", "取消享受的优惠政策"),
                rng.integers(0, 3, n),
            )
        if "未履行" in label:
            return _pick(
                ("未在承诺期限内补齐申请材料", "承诺事项与实际情况不符", "未按承诺落实整改"),
                rng.integers(0, 3, n),
            )
        if re.search(r"违诺责任|违约责任", label):
            return _const(
                "如违反承诺，自愿接受撤销相关许可、记入信用记录等处理，并承担相应法律责任。", n
            )
        if "承诺内容" in label:
            promise = (
                "本单位（本人）承诺所提交的申请材料真实、合法、有效，"
                "已知晓相关条件和要求，如有不实，愿承担相应法律责任。"
            )
            return _const(promise, n)
        if "事由" in label:
            return _pick(_MATTERS, rng.integers(0, len(_MATTERS), n))
        if "已履行" in label:
            paid = (
                pl.Series(np.rint(np.exp(rng.normal(9, 1, n)) / 100) * 100)
                .cast(pl.Int64)
                .cast(pl.String)
            )
            return _when(rng.random(n) < 0.3, "已履行人民币" + paid + "元")
        if "义务" in label:
            owed = (
                pl.Series(np.rint(np.exp(rng.normal(11, 1.2, n)) / 100) * 100)
                .cast(pl.Int64)
                .cast(pl.String)
            )
            return "被执行人应支付申请执行人款项人民币" + owed + "元及相应利息"
        if re.search(r"原因|理由", label):
            status = next(
                (c for c, v in self.out.items() if v.is_in(list(_CLOSE_REASONS)).any()), None
            )
            if status and re.search(r"注销|吊销|撤销", label):
                return self.out[status].replace_strict(
                    _CLOSE_REASONS, default=None, return_dtype=pl.String
                )
            return _pick(
                ("已履行相关义务，申请移出", "已补报并公示", "期限届满"), rng.integers(0, 3, n)
            )
        if "备注" in label:
            return _when(rng.random(n) < 0.08, _pick(_REMARKS, rng.integers(0, len(_REMARKS), n)))
        if label.endswith("名称"):
            return self.it.name + "（" + _pick("一二三", rng.integers(0, 3, n)) + "）"
        return None

    def penalty_text(self) -> pl.Series:
        """处罚内容 from the categories: 警告；罚款人民币5000元；吊销食品经营许可证…"""
        _, fine, conf, _ = self.penalty()
        combos, pick = self.cache["combos"]  # type: ignore[misc]
        words = {
            "罚款": "罚款人民币{F}元",
            "没收违法所得": "没收违法所得人民币{C}元",
            "暂扣许可证件": "暂扣{P}三个月",
            "吊销许可证件": "吊销{P}",
            "责令停产停业": "责令停产停业三十日",
            "行政拘留": "行政拘留五日",
        }
        text = _pick(["；".join(words.get(c, c) for c in combo) for combo in combos], pick)
        for mark, value in (
            ("{F}", pl.Series(fine)),
            ("{C}", pl.Series(conf)),
            ("{P}", self.permit()["pname"]),
        ):
            if text.str.contains(mark, literal=True).any():
                text = (
                    pl.DataFrame({"t": text, "v": value.cast(pl.String)})
                    .select(pl.col("t").str.replace(mark, pl.col("v"), literal=True))
                    .to_series()
                )
        return text
