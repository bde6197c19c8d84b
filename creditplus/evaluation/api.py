from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Router, Schema

from creditplus.accounts import audit
from creditplus.accounts.auth import AUTH
from creditplus.accounts.permissions import require_perm
from creditplus.errors import NotFound
from creditplus.evaluation.services import distribution, get_model, subject_score
from creditplus.subjects.models import Subject

router = Router(tags=["信用评价"])


class ReasonOut(Schema):
    indicator: str
    name: str
    dimension: str
    value: float
    points: int
    text: str


class OverrideOut(Schema):
    code: str
    text: str


class HistoryOut(Schema):
    as_of: date
    score: int
    grade: str


class ScoreOut(Schema):
    code: str
    name: str
    model: str
    model_name: str
    as_of: date
    score: int
    grade: str
    grade_label: str
    base_grade: str
    reasons: list[ReasonOut]
    overrides: list[OverrideOut]
    advice: list[str]
    history: list[HistoryOut]


class BinOut(Schema):
    lower: int
    upper: int
    n: int


class DistributionOut(Schema):
    model: str
    as_of: date | None
    total: int
    mean: float | None
    grades: dict[str, int]
    histogram: list[BinOut]


@router.get(
    "/subjects/{code}/score",
    response=ScoreOut,
    auth=AUTH,
    summary="信用主体的评分、等级、扣分/加分原因、提升建议和评分历史",
)
def score_of_subject(request: HttpRequest, code: str, model: str | None = None) -> dict:
    """The score of the subject with USCC ``code`` under the active model (or ``model``).
    Reasons are Chinese sentences with their points. Shared among government; audited."""
    require_perm(request.user, "evaluation.view_score")
    subject = Subject.objects.organisations().filter(uscc=code.strip().upper()).first()
    if subject is None:
        raise NotFound()
    result = subject_score(subject, get_model(model))
    audit.record(
        "evaluation.score.query", obj=subject, subject=subject.code, purpose="信用评价查询"
    )
    return result


@router.get(
    "/evaluation/distribution",
    response=DistributionOut,
    auth=AUTH,
    summary="评价结果的等级分布和分数分布",
)
def grade_distribution(request: HttpRequest, model: str | None = None) -> dict:
    """Grade counts and a 50-point score histogram of the active model (or ``model``)."""
    require_perm(request.user, "evaluation.view_score")
    evaluation_model = get_model(model)
    audit.record("evaluation.distribution.query", obj=evaluation_model, purpose="评价统计查询")
    return distribution(evaluation_model)
