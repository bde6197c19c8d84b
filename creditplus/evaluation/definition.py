"""The evaluation model's definition (a versioned data file) as typed, validated objects."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from creditplus.errors import DomainError

SOURCES = ("events", "records", "subject", "lists", "related")
LIST_KINDS = ("black", "watch", "red")


def _invalid(message: str) -> DomainError:
    return DomainError("evaluation_model_invalid", message)


@dataclass(frozen=True)
class Band:
    min: float
    points: int


@dataclass(frozen=True)
class Indicator:
    """One indicator: where its value comes from, how it is weighted, how it is explained."""

    code: str
    name: str
    dimension: str
    source: str
    reason: str
    advice: str = ""
    points: float = 0
    cap: float | None = None
    rules: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    measure: str = "count"
    window_months: int = 0
    half_life_months: float | None = None
    lists: tuple[str, ...] = ()
    status_in: tuple[str, ...] = ()
    bands: tuple[Band, ...] = ()

    def matches_rule(self, rule_code: str) -> bool:
        return any(fnmatchcase(rule_code, pattern) for pattern in self.rules)

    def limit(self, raw: float) -> float:
        """Raw points limited by the cap (a cap bounds deductions and additions alike)."""
        if self.cap is None:
            return raw
        return max(raw, self.cap) if self.cap < 0 else min(raw, self.cap)


@dataclass(frozen=True)
class Override:
    """A grade rule applied after the thresholds: ``cap`` (at most) or ``floor`` (at least)."""

    code: str
    name: str
    reason: str
    advice: str
    cap: str | None
    floor: str | None
    lists: tuple[str, ...] = ()
    event_kinds: tuple[str, ...] = ()
    event_severities: tuple[str, ...] = ()
    within_months: int = 0
    no_negative_within_months: int = 0


@dataclass(frozen=True)
class GradeBand:
    grade: str
    label: str
    min: int


@dataclass(frozen=True)
class ModelSpec:
    code: str
    name: str
    base: int
    grades: tuple[GradeBand, ...]
    dimensions: tuple[tuple[str, str], ...]
    indicators: tuple[Indicator, ...]
    overrides: tuple[Override, ...] = field(default=())

    @property
    def by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def uses(self, source: str) -> bool:
        return any(i.source == source for i in self.indicators)

    def grade_of(self, score: float) -> str:
        return next(g.grade for g in self.grades if score >= g.min)

    def threshold(self, grade: str) -> int:
        return next(g.min for g in self.grades if g.grade == grade)

    def label(self, grade: str) -> str:
        return next((g.label for g in self.grades if g.grade == grade), "")

    @property
    def max_window_months(self) -> int:
        windows = [i.window_months for i in self.indicators]
        windows += [o.within_months for o in self.overrides]
        windows += [o.no_negative_within_months for o in self.overrides]
        return max(windows, default=0)


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _invalid(message)


def parse(definition: dict[str, Any]) -> ModelSpec:
    """Validate a model definition and return it typed; a clear Chinese error otherwise."""
    _require(isinstance(definition, dict), "评价模型定义应为对象")
    code = str(definition.get("code") or "")
    _require(bool(code), "评价模型缺少版本编码（code）")
    where = f"评价模型 {code}"
    grades = tuple(
        GradeBand(str(g["grade"]), str(g.get("label", "")), int(g["min"]))
        for g in definition.get("grades") or []
    )
    _require(
        [g.grade for g in grades] == ["A", "B", "C", "D"],
        f"{where}：grades 应依次定义 A、B、C、D 四个等级",
    )
    _require(
        all(a.min > b.min for a, b in itertools.pairwise(grades)) and grades[-1].min == 0,
        f"{where}：等级分数线应从高到低排列，D 级为 0",
    )
    indicators: list[Indicator] = []
    dimensions: list[tuple[str, str]] = []
    for dim in definition.get("dimensions") or []:
        dimensions.append((str(dim["code"]), str(dim["name"])))
        for raw in dim.get("indicators") or []:
            indicators.append(_indicator(raw, str(dim["code"]), where))
    codes = [i.code for i in indicators]
    _require(bool(indicators), f"{where}：没有指标")
    _require(len(set(codes)) == len(codes), f"{where}：指标编码重复")
    overrides = tuple(_override(o, where) for o in definition.get("overrides") or [])
    base = int(definition.get("base", 0))
    _require(0 <= base <= 1000, f"{where}：起评分应在 0–1000 之间")
    return ModelSpec(
        code=code,
        name=str(definition.get("name") or code),
        base=base,
        grades=grades,
        dimensions=tuple(dimensions),
        indicators=tuple(indicators),
        overrides=overrides,
    )


def _indicator(raw: dict[str, Any], dimension: str, where: str) -> Indicator:
    code = str(raw.get("code") or "")
    source = str(raw.get("source") or "")
    _require(bool(code), f"{where}：指标缺少编码")
    _require(source in SOURCES, f"{where}：指标 {code} 的来源 {source!r} 无效，应为 {SOURCES}")
    reason = str(raw.get("reason") or "")
    _require(bool(reason), f"{where}：指标 {code} 缺少解释文字（reason）")
    bands = tuple(
        Band(float(b["min"]), int(b["points"])) for b in raw.get("years_established") or []
    )
    half_life = raw.get("half_life_months")
    indicator = Indicator(
        code=code,
        name=str(raw.get("name") or code),
        dimension=dimension,
        source=source,
        reason=reason,
        advice=str(raw.get("advice") or ""),
        points=float(raw.get("points", 0)),
        cap=float(raw["cap"]) if raw.get("cap") is not None else None,
        rules=_tuple(raw.get("rules")),
        items=_tuple(raw.get("items")),
        measure=str(raw.get("measure") or "count"),
        window_months=int(raw.get("window_months") or 0),
        half_life_months=float(half_life) if half_life else None,
        lists=_tuple(raw.get("lists")),
        status_in=_tuple(raw.get("status_in")),
        bands=tuple(sorted(bands, key=lambda b: -b.min)),
    )
    if source == "events":
        _require(bool(indicator.rules), f"{where}：指标 {code} 未指定行为规则（rules）")
    if source in ("events", "records"):
        _require(indicator.window_months > 0, f"{where}：指标 {code} 未指定时间窗口")
    if source == "records":
        _require(bool(indicator.items), f"{where}：指标 {code} 未指定信息事项（items）")
        _require(indicator.measure in ("count", "amount"), f"{where}：指标 {code} 的度量无效")
    if source in ("lists", "related"):
        _require(
            bool(indicator.lists) and set(indicator.lists) <= set(LIST_KINDS),
            f"{where}：指标 {code} 的名单类别应为 {LIST_KINDS}",
        )
    if source == "subject":
        _require(
            bool(indicator.bands) != bool(indicator.status_in),
            f"{where}：指标 {code} 应指定 years_established 或 status_in 之一",
        )
    if indicator.cap is not None:
        _require(
            indicator.cap * indicator.points >= 0, f"{where}：指标 {code} 的上限与分值方向不一致"
        )
    return indicator


def _override(raw: dict[str, Any], where: str) -> Override:
    code = str(raw.get("code") or "")
    when = raw.get("when") or {}
    events = when.get("events") or {}
    override = Override(
        code=code,
        name=str(raw.get("name") or code),
        reason=str(raw.get("reason") or ""),
        advice=str(raw.get("advice") or ""),
        cap=raw.get("cap"),
        floor=raw.get("floor"),
        lists=_tuple(when.get("lists")),
        event_kinds=_tuple(events.get("kind")),
        event_severities=_tuple(events.get("severity")),
        within_months=int(when.get("within_months") or 0),
        no_negative_within_months=int(when.get("no_negative_within_months") or 0),
    )
    _require(bool(code), f"{where}：等级调整规则缺少编码")
    _require(
        (override.cap is None) != (override.floor is None)
        and (override.cap or override.floor) in ("A", "B", "C", "D"),
        f"{where}：等级调整 {code} 应指定 cap 或 floor 之一（A/B/C/D）",
    )
    _require(
        bool(override.lists or override.event_kinds or override.event_severities),
        f"{where}：等级调整 {code} 缺少条件（名单或行为）",
    )
    if override.event_kinds or override.event_severities:
        _require(override.within_months > 0, f"{where}：等级调整 {code} 未指定 within_months")
    return override
