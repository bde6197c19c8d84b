"""Back-office pages of government integrity evaluation (政务诚信): the periods, one period's
ranking (the credit office sees every department, a department officer only their own), a
department's result with its shortcoming report and trend chart, and the third-party
assessor's score entry.

Views stay thin: results come from :mod:`creditplus.integrity.services`; a department outside
the user's scope is a 404 (``get_for_user``); a :class:`DomainError` is shown with its form.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from creditplus.accounts import audit
from creditplus.accounts.permissions import backoffice_view, get_for_user, restrict
from creditplus.errors import DomainError, NotFound, show_on_form
from creditplus.integrity import services
from creditplus.integrity.forms import AssessorScoreForm, PeriodForm
from creditplus.integrity.models import AssessmentPeriod, AssessorScore, IntegrityIndicator
from creditplus.pages import audit_read


def _visible_ids(user: Any) -> set[int]:
    return set(restrict(services.assessed_departments(), user, "pk").values_list("pk", flat=True))


@backoffice_view("integrity.view_assessmentperiod")
def index(request: HttpRequest) -> HttpResponse:
    """The periods, and the indicator system with its weights and sources."""
    return render(
        request,
        "integrity/index.html",
        {
            "periods": AssessmentPeriod.objects.all(),
            "indicators": IntegrityIndicator.objects.all(),
            "rules": services.scoring_rules(),
            "form": PeriodForm(),
        },
    )


@require_POST
@backoffice_view("integrity.add_assessmentperiod")
def period_new(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.POST)
    if form.is_valid():
        period = services.ensure_period(form.cleaned_data["code"])
        return redirect("integrity:period", code=period.code)
    for error in form.errors.get("code", []):
        messages.error(request, error)
    return redirect("integrity:index")


@backoffice_view("integrity.view_assessmentperiod")
def period(request: HttpRequest, code: str) -> HttpResponse:
    """One period: the ranking (scoped) for those who may see scores; links for the rest."""
    p = services.get_period(code)
    rows = None
    if request.user.has_perm("integrity.view_departmentscore"):
        visible = _visible_ids(request.user)
        rows = [r for r in services.ranking(p) if r.department.pk in visible]
        audit_read(
            "integrity.ranking.view",
            "integrity.departmentscore",
            _("查看政务诚信排名"),
            len(rows),
            p.code,
        )
    return render(
        request,
        "integrity/period.html",
        {
            "period": p,
            "rows": rows,
            "ranked": [r for r in rows or [] if r.complete],
            "provisional": [r for r in rows or [] if not r.complete],
            "indicators": IntegrityIndicator.objects.all(),
            "rules": services.scoring_rules(),
        },
    )


@require_POST
@backoffice_view("integrity.change_assessmentperiod")
def compute(request: HttpRequest, code: str) -> HttpResponse:
    p = services.get_period(code)
    try:
        n = services.compute_period(p)
        messages.success(request, _("已重新计算 %(n)d 项部门指标得分。") % {"n": n})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("integrity:period", code=p.code)


@require_POST
@backoffice_view("integrity.change_assessmentperiod")
def close(request: HttpRequest, code: str) -> HttpResponse:
    p = services.get_period(code)
    try:
        services.close_period(p, request.user)
        messages.success(request, _("评价周期已结束，得分为最终结果。"))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("integrity:period", code=p.code)


@backoffice_view("integrity.view_departmentscore")
def department(request: HttpRequest, code: str, department: str) -> HttpResponse:
    """A department's result: indicators with their figures, the shortcoming report and the
    trend over the periods of the same kind (chart, with the table as its fallback)."""
    p = services.get_period(code)
    dept = get_for_user(services.assessed_departments(), request.user, "pk", code=department)
    result = services.department_result(p, dept)
    trend = services.trend(dept, p)
    audit_read(
        "integrity.department.view",
        "integrity.departmentscore",
        _("查看部门政务诚信评价"),
        1,
        f"{p.code} {dept.code}",
    )
    level_names = [lv.name for lv in result.levels]
    chart = {
        "periods": [t.period for t in trend],
        "total": [None if t.total is None else float(t.total) for t in trend],
        "levels": [
            {
                "name": name,
                "data": [
                    None if t.levels.get(name) is None else float(t.levels[name]) for t in trend
                ],
            }
            for name in level_names
        ],
    }
    return render(
        request,
        "integrity/department.html",
        {
            "period": p,
            "department": dept,
            "result": result,
            "shortcomings": services.shortcomings(result),
            "trend": trend,
            "level_names": level_names,
            "chart": chart,
            "rules": services.scoring_rules(),
        },
    )


@backoffice_view("integrity.add_assessorscore")
def assess(request: HttpRequest, code: str) -> HttpResponse:
    """The assessor's entry form and the scores entered so far in the period."""
    p = services.get_period(code)
    form = AssessorScoreForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.enter_assessor_score(
                request.user,
                p,
                data["department"],
                data["indicator"],
                points=data["points"],
                evidence=data["evidence"],
                evidence_file=data.get("evidence_file"),
            )
        except DomainError as exc:
            show_on_form(form, exc, {"attachments": "evidence_file"})
        else:
            messages.success(
                request,
                _("已录入 %(d)s 的“%(i)s”得分。")
                % {"d": data["department"].name, "i": data["indicator"].name},
            )
            return redirect("integrity:assess", code=p.code)
    scores = AssessorScore.objects.filter(period=p).select_related(
        "department", "indicator", "assessor"
    )
    if request.method == "GET":
        audit_read(
            "integrity.assessor_scores.view",
            "integrity.assessorscore",
            _("查看第三方评估得分"),
            len(scores),
            p.code,
        )
    return render(request, "integrity/assess.html", {"period": p, "form": form, "scores": scores})


@backoffice_view("integrity.view_assessorscore")
def evidence(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Download the evidence file of an assessor score: assessors and the credit office see
    every department's (as on the entry page), a department only its own; audited."""
    p = services.get_period(code)
    scores = AssessorScore.objects.filter(period=p).exclude(evidence_file="")
    if not request.user.has_perm("integrity.add_assessorscore"):
        scores = restrict(scores, request.user)
    try:
        score = scores.select_related("department", "indicator").get(pk=pk)
    except AssessorScore.DoesNotExist:
        raise NotFound() from None
    handle = score.evidence_file.open("rb")  # first: a missing file is no download to audit
    audit.record(
        "integrity.evidence.download",
        obj=score,
        purpose=_("查看 %(d)s “%(i)s”的证明材料")
        % {"d": score.department.name, "i": score.indicator.name},
    )
    name = PurePath(score.evidence_file.name).name
    # The type comes from the file's suffix (one the upload check allowed), never from what
    # the uploader's browser claimed.
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
