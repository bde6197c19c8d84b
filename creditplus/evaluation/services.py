"""Enterprise credit evaluation (评信): model versions, batch and incremental runs, scores
with explanations, side-by-side comparison of model versions, activation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from creditplus.accounts import audit
from creditplus.accounts.services import REFERENCE_DIR, read_reference
from creditplus.bulk import chunked, fetch_csv, fetch_frame, insert_frame
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.errors import DomainError
from creditplus.evaluation import engine, extract
from creditplus.evaluation.choices import GRADES, ModelStatus, RunMode
from creditplus.evaluation.definition import ModelSpec, parse
from creditplus.evaluation.models import EvaluationModel, EvaluationRun, Score, ScoreHistory
from creditplus.lists.models import ListTransition
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent
from creditplus.subjects.models import Subject, SubjectRelation
from creditplus.subjects.services import changed_since, trim_changes

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GradeChange:
    subject_id: int
    old: str
    new: str
    score: int


GradeListener = Callable[[list[GradeChange]], None]
_grade_listeners: dict[str, GradeListener] = {}


def on_grade_change(name: str, listener: GradeListener) -> None:
    """Register ``listener`` (called after commit with the grade changes of a run of the
    active model); monitoring uses it to alert watching departments."""
    _grade_listeners[name] = listener


# ----------------------------------------------------------------------------- model versions


def spec_of(model: EvaluationModel) -> ModelSpec:
    return parse(model.definition)


def active_model() -> EvaluationModel:
    """The active model, or a clear error when an administrator has not activated one."""
    model = EvaluationModel.objects.active()
    if model is None:
        raise DomainError("evaluation_no_active_model", "尚未启用评价模型，请先载入参考数据")
    return model


def get_model(code: str | None) -> EvaluationModel:
    if not code:
        return active_model()
    model = EvaluationModel.objects.filter(code=code).first()
    if model is None:
        raise DomainError("evaluation_model_not_found", f"评价模型 {code} 不存在")
    return model


@transaction.atomic
def load_models() -> str:
    """Load every model file under ``reference_data/evaluation/``. A model that has been
    evaluated is never changed by a file (its scores must stay explainable): a revised
    model is a new file with a new code. When no model is active, the oldest is activated."""
    results = []
    for path in sorted((REFERENCE_DIR / "evaluation").glob("*.yaml")):
        data = read_reference(f"evaluation/{path.name}")
        parse(data)  # refuse an invalid model before anything is written
        existing = EvaluationModel.objects.filter(code=data["code"]).first()
        if existing is not None and existing.runs.exists():
            if existing.definition != data:
                results.append("kept")
                continue
        results.append(
            upsert_reference(
                EvaluationModel,
                {"code": data["code"]},
                int(data["version"]),
                {
                    "name": data["name"],
                    "description": str(data.get("description") or "").strip(),
                    "definition": data,
                },
            )
        )
    if EvaluationModel.objects.active() is None:
        first = EvaluationModel.objects.order_by("code").first()
        if first is not None:
            _activate(first, "load_reference")
    return load_summary("评价模型", results)


def _activate(model: EvaluationModel, actor: str) -> None:
    previous = EvaluationModel.objects.active()
    if previous is not None:
        previous.status = ModelStatus.RETIRED
        previous.save(update_fields=["status", "updated_at"])
    model.status = ModelStatus.ACTIVE
    model.activated_at = timezone.now()
    model.activated_by = actor
    model.save(update_fields=["status", "activated_at", "activated_by", "updated_at"])
    audit.record(
        "evaluation.model.activate",
        obj=model,
        purpose="启用评价模型",
        before={"active": previous.code if previous else None},
        after={"active": model.code},
    )


@transaction.atomic
def activate(model: EvaluationModel, user: Any) -> EvaluationModel:
    """Make ``model`` the one checks and supervision use. It must have been evaluated over
    all subjects first, so that the comparison with the active model could be read."""
    if model.status == ModelStatus.ACTIVE:
        raise DomainError("evaluation_model_already_active", f"评价模型 {model.code} 已是启用状态")
    if not model.runs.filter(mode=RunMode.ALL).exists():
        raise DomainError(
            "evaluation_model_not_evaluated",
            f"评价模型 {model.code} 尚未进行全量评价，请先评价并与启用模型对比后再启用",
        )
    _activate(model, getattr(user, "username", str(user)))
    return model


# ----------------------------------------------------------------------------- evaluation runs


def changed_subject_ids(model: EvaluationModel, spec: ModelSpec) -> list[int] | None:
    """Subjects whose records, events or list entries changed since the model's last run;
    ``None`` when the model has never been evaluated (then everything is).

    When the model reads relations, a change of list membership or of relations also
    changes the organisations sharing a person with the subject: they are added too. A
    subject's own records do not affect the others' scores, so they are not expanded (one
    person may represent a hundred companies)."""
    last = model.runs.order_by("-started_at").first()
    if last is None:
        return None
    since = last.started_at
    ids = changed_since(since)
    moved = set(
        ListTransition.objects.filter(at__gt=since).values_list("entry__subject_id", flat=True)
    )
    if spec.uses("related"):
        moved.update(
            SubjectRelation.objects.filter(created_at__gt=since).values_list(
                "organisation_id", flat=True
            )
        )
        persons: set[int] = set()
        for chunk in chunked(sorted(moved), 5000):
            persons.update(
                SubjectRelation.objects.filter(organisation_id__in=chunk).values_list(
                    "person_id", flat=True
                )
            )
        for chunk in chunked(sorted(persons), 5000):
            moved.update(
                SubjectRelation.objects.filter(person_id__in=chunk).values_list(
                    "organisation_id", flat=True
                )
            )
    return sorted(ids | moved)


def evaluate(
    *,
    mode: str = RunMode.ALL,
    model: EvaluationModel | None = None,
    as_of: date | None = None,
    actor: str = "",
    progress: Progress | None = None,
) -> EvaluationRun:
    """Score all market subjects (``mode="all"``) or only those changed since the model's
    last run (``"changed"``) as of ``as_of`` (today by default), write the scores in bulk
    and keep each subject's history. Returns the run with its counts and phase timings."""
    model = model or active_model()
    spec = spec_of(model)
    as_of = as_of or timezone.localdate()
    started = timezone.now()
    clock = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 3)
        if progress:
            progress(name)
        return now

    subject_ids = changed_subject_ids(model, spec) if mode == RunMode.CHANGED else None
    if mode == RunMode.CHANGED and subject_ids is None:
        mode = RunMode.ALL
    inputs = extract.load(spec, as_of, subject_ids, progress)
    mark = phase("extract", clock)
    parts = engine.contributions(spec, inputs)
    mark = phase("features", mark)
    scores = engine.score(spec, inputs, parts)
    phase("score", mark)
    return record_run(
        model,
        scores,
        mode=mode,
        as_of=as_of,
        actor=actor,
        full=subject_ids is None,
        started=(started, clock),
        phases=phases,
        progress=progress,
    )


def record_run(
    model: EvaluationModel,
    scores: pl.DataFrame,
    *,
    mode: str,
    as_of: date,
    actor: str,
    full: bool,
    started: tuple[datetime, float] | None = None,
    phases: dict[str, float] | None = None,
    progress: Progress | None = None,
    engine_name: str = "polars",
) -> EvaluationRun:
    """Store a run's scores (one row per subject: ``subject_id, score, grade, base_grade,
    overrides, contributions``) with the ordinary history rules, audited; grade changes are
    announced after commit. Used by both engines (the Spark engine's scores are imported)."""
    began, clock = started or (timezone.now(), time.perf_counter())
    phases = dict(phases or {})
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            model=model, mode=mode, as_of=as_of, started_at=began, created_by=actor
        )
        mark = time.perf_counter()
        changes = _write(run, scores, full=full)
        phases["write"] = round(time.perf_counter() - mark, 3)
        if progress:
            progress("write")
        run.evaluated = scores.height
        run.grade_changes = len(changes)
        run.grades = {g: 0 for g in GRADES} | dict(scores.group_by("grade").len().iter_rows())
        run.seconds = round(time.perf_counter() - clock, 3)
        run.phases = phases
        run.finished_at = timezone.now()
        run.save()
        audit.record(
            "evaluation.run",
            obj=run,
            purpose="信用评价",
            after={
                "model": model.code,
                "mode": mode,
                "as_of": as_of.isoformat(),
                "evaluated": run.evaluated,
                "grades": run.grades,
                "engine": engine_name,
            },
        )
        if model.status == ModelStatus.ACTIVE and changes:
            transaction.on_commit(lambda: _notify_grade_changes(changes))
        trim_changes()
    return run


def change_log_read_up_to() -> datetime | None:
    """How far evaluation has read the subjects' change log: the oldest latest run of the
    models in use (a model never run evaluates everything and needs none of it)."""
    latest = (
        EvaluationRun.objects.exclude(model__status=ModelStatus.RETIRED)
        .order_by()
        .values("model_id")
        .annotate(last=Max("started_at"))
        .values_list("last", flat=True)
    )
    return min(latest, default=None)


def _notify_grade_changes(changes: list[GradeChange]) -> None:
    for listener in list(_grade_listeners.values()):
        listener(changes)


def _current(model_id: int, subject_ids: pl.Series | None) -> pl.DataFrame:
    """The model's stored score and grade of the subjects (all when ``subject_ids`` is None)."""
    table = connection.ops.quote_name(Score._meta.db_table)
    schema = {"subject_id": pl.Int64, "old_score": pl.Int64, "old_grade": pl.Utf8}
    sql = f"SELECT subject_id, score AS old_score, grade AS old_grade FROM {table} WHERE model_id = {int(model_id)}"
    if subject_ids is None:
        return fetch_csv(sql, schema)
    ids = subject_ids.to_list()
    return pl.concat(
        [
            fetch_csv(f"{sql} AND subject_id IN ({', '.join(str(int(i)) for i in chunk)})", schema)
            for chunk in chunked(ids, 5000)
        ]
        or [pl.DataFrame(schema=schema)]
    )


def _write(run: EvaluationRun, scores: pl.DataFrame, *, full: bool) -> list[GradeChange]:
    """Replace the model's scores of the evaluated subjects; append history where the score
    or grade changed. Returns the grade changes of subjects that had a grade before."""
    ids = None if full else scores.get_column("subject_id")
    before = _current(run.model_id, ids)
    table = connection.ops.quote_name(Score._meta.db_table)
    with connection.cursor() as cursor:
        if full:
            cursor.execute(f"DELETE FROM {table} WHERE model_id = %s", [run.model_id])
        else:
            for chunk in chunked(ids.to_list(), 5000):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"DELETE FROM {table} WHERE model_id = %s AND subject_id IN ({marks})",
                    [run.model_id, *chunk],
                )
    common = [
        pl.lit(run.model_id).alias("model_id"),
        pl.lit(run.pk).alias("run_id"),
        pl.lit(run.as_of.isoformat()).alias("as_of"),
    ]
    insert_frame(
        Score._meta.db_table,
        scores.select(
            "subject_id", "score", "grade", "base_grade", "overrides", "contributions", *common
        ),
    )
    joined = scores.join(before, on="subject_id", how="left")
    moved = joined.filter(
        pl.col("old_score").is_null()
        | (pl.col("old_score") != pl.col("score"))
        | (pl.col("old_grade") != pl.col("grade"))
    )
    insert_frame(
        ScoreHistory._meta.db_table,
        moved.select("subject_id", "score", "grade", *common),
    )
    return [
        GradeChange(sid, old, new, score)
        for sid, old, new, score in joined.filter(
            pl.col("old_grade").is_not_null() & (pl.col("old_grade") != pl.col("grade"))
        )
        .select("subject_id", "old_grade", "grade", "score")
        .iter_rows()
    ]


# ----------------------------------------------------------------------------- explanations


def _number(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.2f}".rstrip("0").rstrip(".")


def reason_text(spec: ModelSpec, code: str, n: float, points: int) -> str:
    """The Chinese explanation of one contribution, e.g. "近12个月行政处罚3次，扣45分"."""
    indicator = spec.by_code.get(code)
    if indicator is None:
        return f"{code}：{points:+d}分"
    return indicator.reason.format(n=_number(n), months=indicator.window_months, points=abs(points))


def explain(score: Score, spec: ModelSpec | None = None, limit: int = 0) -> dict[str, Any]:
    """Reasons (largest effect first), the grade rules that applied, and what would raise
    the grade — all in Chinese, computed from the stored contributions."""
    spec = spec or spec_of(score.model)
    reasons = []
    for code, n, points in score.contribution_list:
        indicator = spec.by_code.get(code)
        reasons.append(
            {
                "indicator": code,
                "name": indicator.name if indicator else code,
                "dimension": dict(spec.dimensions).get(indicator.dimension, "")
                if indicator
                else "",
                "value": n,
                "points": int(points),
                "text": reason_text(spec, code, n, int(points)),
            }
        )
    overrides = [o for o in spec.overrides if o.code in score.override_codes]
    return {
        "reasons": reasons[:limit] if limit else reasons,
        "overrides": [{"code": o.code, "text": o.reason} for o in overrides],
        "advice": _advice(score, spec, reasons, overrides),
    }


def _advice(score: Score, spec: ModelSpec, reasons: list[dict], overrides: list) -> list[str]:
    if score.grade == "A":
        return []
    advice = []
    better = GRADES[GRADES.index(score.grade) - 1]
    caps = [o for o in overrides if o.cap and GRADES.index(o.cap) >= GRADES.index(score.grade)]
    for o in caps:
        if o.advice:
            advice.append(o.advice)
    needed = spec.threshold(better) - score.score
    if needed > 0:
        advice.append(f"评分再提高{needed}分可达{better}级（{spec.label(better)}）")
    for reason in sorted(reasons, key=lambda r: r["points"]):
        indicator = spec.by_code.get(reason["indicator"])
        if reason["points"] < 0 and indicator and indicator.advice:
            text = f"{indicator.name}：{indicator.advice}"
            if text not in advice:
                advice.append(text)
        if len(advice) >= 5:
            break
    restorable = CreditEvent.objects.filter(
        subject_id=score.subject_id,
        kind="untrustworthy",
        status=EventStatus.ACTIVE,
        restoration_from__lte=score.as_of,
    ).count()
    if restorable:
        advice.append(f"有{restorable}条失信信息已满足信用修复条件，可申请信用修复")
    return advice


def current_score(subject: Subject, model: EvaluationModel | None = None) -> Score | None:
    """The subject's current score under ``model`` (the active one by default)."""
    model = model or EvaluationModel.objects.active()
    if model is None:
        return None
    return Score.objects.filter(model=model, subject=subject).select_related("model").first()


def current_grades(subject_ids: Sequence[int]) -> dict[int, str]:
    """Grades of the active model for many subjects (credit checks, supervision)."""
    model = EvaluationModel.objects.active()
    if model is None:
        return {}
    grades: dict[int, str] = {}
    for chunk in chunked(list(subject_ids), 5000):
        grades.update(
            Score.objects.filter(model=model, subject_id__in=chunk).values_list(
                "subject_id", "grade"
            )
        )
    return grades


def history(subject: Subject, model: EvaluationModel) -> list[dict[str, Any]]:
    return [
        {"as_of": h.as_of, "score": h.score, "grade": h.grade}
        for h in ScoreHistory.objects.filter(subject=subject, model=model).order_by("as_of", "id")
    ]


def subject_score(subject: Subject, model: EvaluationModel | None = None) -> dict[str, Any]:
    """Score, grade, model version, reasons, advice and history of one subject."""
    model = model or active_model()
    score = current_score(subject, model)
    if score is None:
        raise DomainError(
            "evaluation_not_scored",
            "该主体尚无评价结果（自然人不参与评价，新主体待下次评价）",
            status=404,
        )
    spec = spec_of(model)
    explanation = explain(score, spec)
    return {
        "code": subject.code,
        "name": subject.name,
        "model": model.code,
        "model_name": model.name,
        "as_of": score.as_of,
        "score": score.score,
        "grade": score.grade,
        "grade_label": spec.label(score.grade),
        "base_grade": score.base_grade,
        **explanation,
        "history": history(subject, model),
    }


# ----------------------------------------------------------------------------- statistics


def distribution(model: EvaluationModel, bin_width: int = 50) -> dict[str, Any]:
    """Grade counts and a score histogram of the model's current scores."""
    grades = dict(
        Score.objects.filter(model=model)
        .values("grade")
        .annotate(n=Count("id"))
        .values_list("grade", "n")
    )
    table = connection.ops.quote_name(Score._meta.db_table)
    frame = fetch_frame(
        f"SELECT score FROM {table} WHERE model_id = %s", [model.pk], {"score": pl.Int64}
    )
    return {
        "model": model.code,
        "total": frame.height,
        "grades": {g: int(grades.get(g, 0)) for g in GRADES},
        "histogram": _histogram(frame.get_column("score"), bin_width),
        "mean": round(float(frame["score"].mean()), 1) if frame.height else None,
        "as_of": model.runs.order_by("-started_at").values_list("as_of", flat=True).first(),
    }


def _histogram(scores: pl.Series, width: int) -> list[dict[str, int]]:
    """Counts per ``width``-point bin; the last bin includes 1000."""
    counts = dict((scores.clip(0, 999) // width * width).value_counts().iter_rows())
    return [
        {
            "lower": lo,
            "upper": min(lo + width - 1, 1000 if lo + width >= 1000 else 999),
            "n": int(counts.get(lo, 0)),
        }
        for lo in range(0, 1000, width)
    ]


def model_report(model: EvaluationModel) -> dict[str, Any]:
    """The model itself: dimensions with their indicators and weights, grade rules, and the
    distribution of its current scores; plus how often each indicator contributed."""
    spec = spec_of(model)
    hits: dict[str, list[int]] = {}
    table = connection.ops.quote_name(Score._meta.db_table)
    frame = fetch_frame(
        f"SELECT contributions FROM {table} WHERE model_id = %s AND contributions <> '[]'",
        [model.pk],
        {"contributions": pl.Utf8},
    )
    if frame.height:
        exploded = (
            frame.select(pl.col("contributions").str.json_decode(pl.List(pl.List(pl.Utf8))))
            .explode("contributions")
            .select(
                pl.col("contributions").list.get(0).alias("ind"),
                pl.col("contributions").list.get(2).cast(pl.Float64).alias("points"),
            )
            .group_by("ind")
            .agg(pl.len().alias("n"), pl.col("points").sum().alias("total"))
        )
        hits = {r[0]: [int(r[1]), int(r[2])] for r in exploded.iter_rows()}
    dimensions = []
    for code, name in spec.dimensions:
        dimensions.append(
            {
                "code": code,
                "name": name,
                "indicators": [
                    {
                        "indicator": i,
                        "subjects": hits.get(i.code, [0, 0])[0],
                        "points_total": hits.get(i.code, [0, 0])[1],
                    }
                    for i in spec.indicators
                    if i.dimension == code
                ],
            }
        )
    return {"spec": spec, "dimensions": dimensions, "distribution": distribution(model)}


def compare(candidate: EvaluationModel, baseline: EvaluationModel | None = None) -> dict[str, Any]:
    """Side-by-side comparison of two model versions over the subjects both have scored:
    grade distributions, population stability index (on grades and on the baseline's score
    deciles) and the grade migration matrix (rows: baseline, columns: candidate)."""
    baseline = baseline or active_model()
    if baseline.pk == candidate.pk:
        raise DomainError("evaluation_compare_same", "请选择与启用模型不同的版本进行对比")
    table = connection.ops.quote_name(Score._meta.db_table)
    schema = {"subject_id": pl.Int64, "score": pl.Int64, "grade": pl.Utf8}
    sql = f"SELECT subject_id, score, grade FROM {table} WHERE model_id = %s"
    base = fetch_frame(sql, [baseline.pk], schema)
    cand = fetch_frame(sql, [candidate.pk], schema)
    both = base.join(cand, on="subject_id", suffix="_c")
    if both.height == 0:
        raise DomainError(
            "evaluation_compare_empty",
            f"两个版本尚无共同的评价结果：请先对 {candidate.code} 进行全量评价",
        )
    n = both.height
    grades_b = {g: both.filter(pl.col("grade") == g).height for g in GRADES}
    grades_c = {g: both.filter(pl.col("grade_c") == g).height for g in GRADES}
    matrix = [
        [both.filter((pl.col("grade") == gb) & (pl.col("grade_c") == gc)).height for gc in GRADES]
        for gb in GRADES
    ]
    deciles = sorted({float(both["score"].quantile(q / 10, "lower")) for q in range(1, 10)})
    bins_b = _bin_shares(both["score"], deciles)
    bins_c = _bin_shares(both["score_c"], deciles)
    psi_grades = psi([grades_b[g] / n for g in GRADES], [grades_c[g] / n for g in GRADES])
    psi_scores = psi(bins_b, bins_c)
    stay = sum(matrix[i][i] for i in range(4))
    return {
        "baseline": baseline.code,
        "candidate": candidate.code,
        "subjects": n,
        "grades": {"baseline": grades_b, "candidate": grades_c},
        "mean": {
            "baseline": round(float(both["score"].mean()), 1),
            "candidate": round(float(both["score_c"].mean()), 1),
        },
        "psi_grades": round(psi_grades, 4),
        "psi_scores": round(psi_scores, 4),
        "stability": psi_label(max(psi_grades, psi_scores)),
        "migration": {"grades": list(GRADES), "matrix": matrix},
        "unchanged_share": round(stay / n, 4),
        "upgraded": sum(matrix[i][j] for i in range(4) for j in range(4) if j < i),
        "downgraded": sum(matrix[i][j] for i in range(4) for j in range(4) if j > i),
    }


def _bin_shares(scores: pl.Series, edges: list[float]) -> list[float]:
    """Shares of ``scores`` in the bins (−∞, e₁], (e₁, e₂], …, (eₙ, +∞)."""
    index = np.searchsorted(np.asarray(edges), scores.to_numpy(), side="left")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return (counts / max(scores.len(), 1)).tolist()


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = 1e-4) -> float:
    """Population stability index Σ (a − e) · ln(a / e), with empty shares floored."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, floor), max(a, floor)
        total += (a - e) * math.log(a / e)
    return total


def psi_label(value: float) -> str:
    if value < 0.1:
        return "稳定（PSI < 0.1）"
    if value < 0.25:
        return "轻微变化（0.1 ≤ PSI < 0.25），建议复核"
    return "显著变化（PSI ≥ 0.25），启用前须论证"


def format_comparison(result: dict[str, Any]) -> str:
    """The comparison as plain text (the ``evaluate_compare`` command's output)."""
    g = result["grades"]
    lines = [
        f"对比：{result['baseline']}（启用）→ {result['candidate']}（候选），共 {result['subjects']:,} 个主体",
        "等级    " + "".join(f"{x:>10}" for x in GRADES),
        "启用版  " + "".join(f"{g['baseline'][x]:>10,}" for x in GRADES),
        "候选版  " + "".join(f"{g['candidate'][x]:>10,}" for x in GRADES),
        f"平均分  {result['mean']['baseline']} → {result['mean']['candidate']}",
        f"PSI（等级）{result['psi_grades']:.4f}  PSI（分数十分位）{result['psi_scores']:.4f}  {result['stability']}",
        "等级迁移矩阵（行：启用版，列：候选版）",
        "        " + "".join(f"{x:>10}" for x in GRADES),
    ]
    for grade, row in zip(GRADES, result["migration"]["matrix"], strict=True):
        lines.append(f"{grade:<8}" + "".join(f"{v:>10,}" for v in row))
    lines.append(
        f"等级不变 {result['unchanged_share']:.1%}，上调 {result['upgraded']:,}，下调 {result['downgraded']:,}"
    )
    return "\n".join(lines)


def runs_summary(model: EvaluationModel, limit: int = 10) -> list[EvaluationRun]:
    return list(model.runs.order_by("-started_at")[:limit])


def import_scores(
    model: EvaluationModel, scores: pl.DataFrame, *, as_of: date, actor: str
) -> tuple[EvaluationRun, int]:
    """Import scores computed elsewhere (the Spark engine, keyed by the national identifier
    ``subject``) as a full run of ``model``: subjects of this database only; returns the run
    and how many scored subjects are not registered here (e.g. another district's)."""
    table = connection.ops.quote_name(Subject._meta.db_table)
    keys = fetch_csv(
        f"SELECT id AS subject_id, coalesce(uscc, 'H:' || id_hash) AS subject FROM {table} "
        "WHERE uscc IS NOT NULL OR id_hash IS NOT NULL",
        {"subject_id": pl.Int64, "subject": pl.Utf8},
    )
    local = scores.join(keys, on="subject", how="inner").drop("subject")
    run = record_run(
        model, local, mode=RunMode.ALL, as_of=as_of, actor=actor, full=True, engine_name="spark"
    )
    return run, scores.height - local.height
