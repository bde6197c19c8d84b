"""Back-office pages of enterprise credit evaluation (评信): the dashboard with the active
model's distribution, recent runs and a subject search; the credit profile (画像) of an
organisation; the model versions, one model's report with its comparison to the active
model, and activation.

Views stay thin: the profile comes from :mod:`creditplus.evaluation.profile`, statistics and
comparisons from :mod:`creditplus.evaluation.services`; a :class:`DomainError` of
activation is shown as a message on the model page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Case, Count, OuterRef, Subquery, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditplus.accounts import audit
from creditplus.accounts.permissions import backoffice_view
from creditplus.catalog.choices import BehaviorKind, Severity
from creditplus.errors import DomainError, NotFound
from creditplus.evaluation import profile, services
from creditplus.evaluation.choices import GRADES, ModelStatus
from creditplus.evaluation.definition import ModelSpec
from creditplus.evaluation.models import EvaluationModel, EvaluationRun
from creditplus.lists.choices import ListKind
from creditplus.pages import page_of, querystring

RECENT_RUNS = 10

SOURCE_LABELS = {
    "events": gettext_lazy("信用行为"),
    "records": gettext_lazy("信用信息"),
    "subject": gettext_lazy("登记信息"),
    "lists": gettext_lazy("名单"),
    "related": gettext_lazy("关联主体名单"),
}


def _get_model(code: str) -> EvaluationModel:
    model = EvaluationModel.objects.filter(code=code).first()
    if model is None:
        raise NotFound()
    return model


def _grade_chart(spec: ModelSpec | None, grades: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"name": f"{g} {spec.label(g) if spec else ''}".strip(), "value": grades.get(g, 0)}
        for g in GRADES
    ]


def _histogram_chart(distribution: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": f"{b['lower']}–{b['upper']}", "value": b["n"]} for b in distribution["histogram"]
    ]


# --------------------------------------------------------------------------- dashboard


@backoffice_view("evaluation.view_score")
def dashboard(request: HttpRequest) -> HttpResponse:
    """The active model's grade and score distribution, the latest runs, and a search of
    organisations (by USCC or name, or by grade) with their current grade."""
    model = EvaluationModel.objects.active()
    spec = services.spec_of(model) if model else None
    distribution = services.distribution(model) if model else None
    grade_cards = []
    chart: dict[str, Any] = {"grades": [], "histogram": []}
    if distribution:
        total = distribution["total"] or 1
        grade_cards = [
            {
                "grade": g,
                "label": spec.label(g) if spec else "",
                "count": distribution["grades"][g],
                "share": 100 * distribution["grades"][g] / total,
            }
            for g in GRADES
        ]
        chart = {
            "grades": _grade_chart(spec, distribution["grades"]),
            "histogram": _histogram_chart(distribution),
        }
    q = request.GET.get("q", "").strip()[:200]
    grade = request.GET.get("grade", "")
    grade = grade if grade in GRADES else ""
    page = page_of(request, profile.search(q, model, grade)) if (q or grade) else None
    return render(
        request,
        "evaluation/dashboard.html",
        {
            "model": model,
            "distribution": distribution,
            "grade_cards": grade_cards,
            "chart": chart,
            "runs": EvaluationRun.objects.select_related("model").order_by("-started_at", "-id")[
                :RECENT_RUNS
            ],
            "q": q,
            "grade": grade,
            "grades": GRADES,
            "page_obj": page,
            "querystring_base": querystring(request),
        },
    )


# --------------------------------------------------------------------------- profile


@backoffice_view("evaluation.view_score")
def subject_profile(request: HttpRequest, code: str) -> HttpResponse:
    """The credit profile (画像) of one organisation; every view is audited."""
    subject = profile.find_organisation(code)
    audit.record(
        "evaluation.profile.view", obj=subject, subject=subject.code, purpose="信用画像查看"
    )
    data = profile.build(subject)
    chart = {
        "history": [
            {"date": h["as_of"].isoformat(), "score": h["score"], "grade": h["grade"]}
            for h in data["history"]
        ]
    }
    return render(request, "evaluation/profile.html", {**data, "chart": chart})


# --------------------------------------------------------------------------- models


@backoffice_view("evaluation.view_evaluationmodel")
def model_list(request: HttpRequest) -> HttpResponse:
    """Every model version (the active one first, then the newest) with its status,
    activation, number of runs and last run."""
    last_run = EvaluationRun.objects.filter(model=OuterRef("pk")).order_by("-started_at", "-id")
    rows = list(
        EvaluationModel.objects.annotate(
            run_count=Count("runs"), last_run_id=Subquery(last_run.values("pk")[:1])
        ).order_by(Case(When(status=ModelStatus.ACTIVE, then=0), default=1), "-code")
    )
    runs = EvaluationRun.objects.in_bulk([m.last_run_id for m in rows if m.last_run_id])
    for row in rows:
        row.last_run = runs.get(row.last_run_id)
    return render(request, "evaluation/models.html", {"models": rows})


def _indicator_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    kinds = dict(ListKind.choices)
    dimensions = []
    for dimension in report["dimensions"]:
        rows = []
        for entry in dimension["indicators"]:
            i = entry["indicator"]
            targets = [*i.rules, *i.items, *(str(kinds.get(k, k)) for k in i.lists)]
            if i.bands:
                targets = [_("满%(y)g年 %(p)+d分") % {"y": b.min, "p": b.points} for b in i.bands]
            elif i.status_in:
                targets = list(i.status_in)
            rows.append(
                {
                    "indicator": i,
                    "source": SOURCE_LABELS.get(i.source, i.source),
                    "targets": targets,
                    "subjects": entry["subjects"],
                    "points_total": entry["points_total"],
                }
            )
        dimensions.append({"code": dimension["code"], "name": dimension["name"], "rows": rows})
    return dimensions


def _grade_rows(spec: ModelSpec) -> list[dict[str, Any]]:
    rows = []
    upper = 1000
    for band in spec.grades:
        rows.append({"grade": band.grade, "label": band.label, "min": band.min, "max": upper})
        upper = band.min - 1
    return rows


def _override_rows(spec: ModelSpec) -> list[dict[str, Any]]:
    kinds, behaviors, severities = (
        dict(ListKind.choices),
        dict(BehaviorKind.choices),
        dict(Severity.choices),
    )
    rows = []
    for o in spec.overrides:
        conditions = [str(kinds.get(k, k)) for k in o.lists]
        if o.event_kinds or o.event_severities:
            what = "".join(str(severities.get(s, s)) for s in o.event_severities) + "".join(
                str(behaviors.get(k, k)) for k in o.event_kinds
            )
            conditions.append(_("近%(m)d个月有%(what)s") % {"m": o.within_months, "what": what})
        if o.no_negative_within_months:
            conditions.append(_("近%(m)d个月无失信行为") % {"m": o.no_negative_within_months})
        rows.append(
            {
                "override": o,
                "conditions": conditions,
                "rule": _("最高%(g)s级") % {"g": o.cap}
                if o.cap
                else _("最低%(g)s级") % {"g": o.floor},
            }
        )
    return rows


def _migration_rows(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    grades = comparison["migration"]["grades"]
    return [
        {
            "grade": row_grade,
            "cells": [
                {"n": n, "move": "same" if i == j else ("up" if j < i else "down")}
                for j, n in enumerate(row)
            ],
        }
        for i, (row_grade, row) in enumerate(
            zip(grades, comparison["migration"]["matrix"], strict=True)
        )
    ]


@backoffice_view("evaluation.view_evaluationmodel")
def model_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One model version: indicators with their effect, grade rules, distribution, its runs,
    and — for a version other than the active one — the comparison with the active model."""
    obj = _get_model(code)
    report = services.model_report(obj)
    spec: ModelSpec = report["spec"]
    active = EvaluationModel.objects.active()
    comparison = None
    comparison_error = ""
    evaluated = obj.runs.exists()
    if active is not None and active.pk != obj.pk and evaluated:
        try:
            comparison = services.compare(obj, active)
        except DomainError as exc:
            comparison_error = str(exc.message)
    chart: dict[str, Any] = {
        "grades": _grade_chart(spec, report["distribution"]["grades"]),
        "histogram": _histogram_chart(report["distribution"]),
        "comparison": None,
    }
    if comparison:
        chart["comparison"] = {
            "grades": list(GRADES),
            "baseline": [comparison["grades"]["baseline"][g] for g in GRADES],
            "candidate": [comparison["grades"]["candidate"][g] for g in GRADES],
            "baseline_name": comparison["baseline"],
            "candidate_name": comparison["candidate"],
        }
    return render(
        request,
        "evaluation/model.html",
        {
            "model": obj,
            "spec": spec,
            "active": active,
            "is_active": obj.status == ModelStatus.ACTIVE,
            "evaluated": evaluated,
            "dimensions": _indicator_rows(report),
            "grade_rows": _grade_rows(spec),
            "override_rows": _override_rows(spec),
            "distribution": report["distribution"],
            "runs": services.runs_summary(obj),
            "comparison": comparison,
            "migration_rows": _migration_rows(comparison) if comparison else [],
            "comparison_error": comparison_error,
            "command": f"creditplus evaluate --all --model {obj.code}",
            "chart": chart,
        },
    )


@require_POST
@backoffice_view("evaluation.change_evaluationmodel")
def activate(request: HttpRequest, code: str) -> HttpResponse:
    """启用此版本: make the model the active one (refused until it has been evaluated)."""
    obj = _get_model(code)
    try:
        services.activate(obj, request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已启用评价模型 %(code)s。") % {"code": obj.code})
    return redirect("evaluation:model", code=obj.code)
