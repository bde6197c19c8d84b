"""双随机一公开: random selection of subjects (stratified by credit grade, ratios from the
supervision policy) and random pairing of two inspectors per subject, reproducible from a
recorded seed; results recorded by the inspectors, published, and collected as records."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.choices import Role
from creditplus.accounts.models import User
from creditplus.accounts.permissions import require_perm, restrict
from creditplus.accounts.services import notify
from creditplus.catalog.choices import SubjectKind
from creditplus.errors import DomainError, Forbidden, NotFound
from creditplus.evaluation.services import current_grades
from creditplus.lists.models import ListEntry
from creditplus.records.models import CreditRecord
from creditplus.records.services import collect_row
from creditplus.subjects.models import Subject
from creditplus.supervision.choices import PROBLEM_RESULTS, InspectionResult, PlanStatus
from creditplus.supervision.models import (
    Inspection,
    InspectionPlan,
    InspectorConflict,
    SupervisionField,
)
from creditplus.supervision.services import KIND_LABEL

GRADES = ("A", "B", "C", "D")
GONE = ("注销", "吊销", "撤销", "迁出")  # registration states that cannot be inspected
FINDINGS_REQUIRED = (InspectionResult.CORRECTED, InspectionResult.FOLLOW_UP)


# ----------------------------------------------------------------------------- pure functions


def select(population: pl.DataFrame, ratios: dict[str, float], seed: int) -> pl.DataFrame:
    """Draw ``ceil(ratio × n)`` subjects of each grade without replacement. ``population``
    has ``subject_id`` and ``grade``; the same population, ratios and seed give the same
    draw. Returns the drawn rows ordered by subject id."""
    rng = np.random.default_rng(seed)
    drawn = []
    for grade in GRADES:
        ids = np.sort(population.filter(pl.col("grade") == grade)["subject_id"].to_numpy())
        k = min(len(ids), math.ceil(float(ratios.get(grade, 0)) * len(ids) - 1e-9))
        if k > 0:
            chosen = rng.choice(ids, size=k, replace=False)
            drawn.append(pl.DataFrame({"subject_id": chosen, "grade": [grade] * k}))
    if not drawn:
        return pl.DataFrame(schema={"subject_id": pl.Int64, "grade": pl.Utf8})
    return pl.concat(drawn).cast({"subject_id": pl.Int64}).sort("subject_id")


def pair(
    subject_ids: list[int],
    inspectors: list[int],
    excluded: dict[int, set[int]],
    seed: int,
) -> dict[int, tuple[int, int]]:
    """Two different inspectors per subject, drawn at random among those not excluded for it
    (declared conflicts, and those who inspected it in the field's previous plan), least
    loaded first so the work is spread evenly. Reproducible from ``seed``."""
    rng = np.random.default_rng([seed, 2])
    load: Counter[int] = Counter()
    pairs = {}
    for subject_id in subject_ids:
        eligible = [i for i in inspectors if i not in excluded.get(subject_id, set())]
        if len(eligible) < 2:
            raise DomainError(
                "inspectors_insufficient",
                _("可派检查人员不足两名（已排除回避和上次检查人员），无法为主体 %(s)s 配对")
                % {"s": subject_id},
            )
        keys = rng.random(len(eligible))
        order = sorted(range(len(eligible)), key=lambda j: (load[eligible[j]], keys[j]))
        first, second = eligible[order[0]], eligible[order[1]]
        load.update([first, second])
        pairs[subject_id] = (first, second)
    return pairs


def digest(population: pl.DataFrame) -> str:
    """A fingerprint of the population and its grades, recorded with the plan."""
    text = "\n".join(f"{s}:{g}" for s, g in population.sort("subject_id").iter_rows())
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- plans


def population(field: SupervisionField, filters: dict[str, Any]) -> pl.DataFrame:
    """The subjects in a plan's scope with their current grade: market subjects still in
    business, optionally by industry, address and grade. Unscored subjects count as the
    field's default grade; blacklisted ones as D."""
    qs = Subject.objects.organisations().exclude(status__in=GONE)
    if filters.get("industry"):
        qs = qs.filter(industry__in=filters["industry"])
    if filters.get("address"):
        qs = qs.filter(address__contains=filters["address"])
    if filters.get("kinds"):
        qs = qs.filter(kind__in=filters["kinds"])
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    grades = current_grades(ids)
    black = set(
        ListEntry.objects.members()
        .filter(list_type__kind="black")
        .values_list("subject_id", flat=True)
    )
    frame = pl.DataFrame(
        {
            "subject_id": ids,
            "grade": ["D" if i in black else grades.get(i, field.default_grade) for i in ids],
        },
        schema={"subject_id": pl.Int64, "grade": pl.Utf8},
    )
    if filters.get("grades"):
        frame = frame.filter(pl.col("grade").is_in(list(filters["grades"])))
    return frame


def inspectors_of(department_id: int) -> list[int]:
    """Active inspectors (执法检查人员) of the department: the pool pairs are drawn from."""
    return list(
        User.objects.filter(
            department_id=department_id, groups__name=Role.INSPECTOR, is_active=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _exclusions(
    field: SupervisionField, department_id: int, subject_ids: list[int]
) -> dict[int, set[int]]:
    excluded: dict[int, set[int]] = {}
    for inspector, subject in InspectorConflict.objects.filter(
        subject_id__in=subject_ids
    ).values_list("inspector_id", "subject_id"):
        excluded.setdefault(subject, set()).add(inspector)
    previous = (
        InspectionPlan.objects.filter(field=field, department_id=department_id)
        .order_by("-id")
        .first()
    )
    if previous is not None:
        for subject, a, b in previous.inspections.filter(subject_id__in=subject_ids).values_list(
            "subject_id", "inspector_a_id", "inspector_b_id"
        ):
            excluded.setdefault(subject, set()).update((a, b))
    return excluded


def _plan_number(department_code: str, today: date) -> str:
    prefix = f"SJ{today:%Y}-{department_code}-"
    count = InspectionPlan.objects.filter(number__startswith=prefix).count()
    return f"{prefix}{count + 1:04d}"


@transaction.atomic
def draw_plan(
    user: Any,
    field: SupervisionField,
    title: str,
    *,
    matter: str = "",
    filters: dict[str, Any] | None = None,
    ratios: dict[str, float] | None = None,
    seed: int | None = None,
) -> InspectionPlan:
    """Create a plan and draw it: subjects by grade (ratios from the policy unless given),
    two inspectors of the user's department for each. The seed is recorded (a fresh random
    one unless given) so that anyone can re-draw and get the same result; audited."""
    require_perm(user, "supervision.add_inspectionplan")
    if not user.department_id:
        raise Forbidden(_("抽查计划须以部门身份创建"))
    if not title.strip():
        raise DomainError("title_required", _("请填写抽查任务名称"), "title")
    filters = {k: v for k, v in (filters or {}).items() if v}
    ratios = {g: float(field.rule(g)["ratio"]) for g in GRADES} | {
        g: float(r) for g, r in (ratios or {}).items() if g in GRADES
    }
    if any(not 0 <= r <= 1 for r in ratios.values()):
        raise DomainError("ratio_invalid", _("抽查比例应在 0 到 1 之间"), "ratios")
    seed = secrets.randbits(62) if seed is None else int(seed)
    scope = population(field, filters)
    drawn = select(scope, ratios, seed)
    if drawn.height == 0:
        raise DomainError("nothing_drawn", _("抽查范围内没有可抽取的主体"), "filters")
    subject_ids = drawn["subject_id"].to_list()
    pool = inspectors_of(user.department_id)
    pairs = pair(subject_ids, pool, _exclusions(field, user.department_id, subject_ids), seed)
    plan = InspectionPlan.objects.create(
        number=_plan_number(user.department.code, timezone.localdate()),
        title=title.strip()[:200],
        matter=matter.strip()[:200],
        field=field,
        department_id=user.department_id,
        filters=filters,
        ratios=ratios,
        seed=seed,
        population=scope.height,
        population_digest=digest(scope),
        status=PlanStatus.DRAWN,
        created_by=user.username,
    )
    Inspection.objects.bulk_create(
        Inspection(
            plan=plan,
            subject_id=subject_id,
            grade=grade,
            inspector_a_id=pairs[subject_id][0],
            inspector_b_id=pairs[subject_id][1],
        )
        for subject_id, grade in drawn.iter_rows()
    )
    audit.record(
        "inspection.plan.draw",
        obj=plan,
        purpose=_("双随机抽取检查对象和检查人员"),
        after={
            "seed": str(seed),
            "ratios": ratios,
            "filters": filters,
            "population": scope.height,
            "population_digest": plan.population_digest,
            "drawn": drawn.height,
            "inspectors": len(pool),
        },
    )
    notify(
        _("双随机抽查任务：%(t)s") % {"t": plan.title},
        _("已抽取 %(n)d 个检查对象，请检查人员在任务中录入检查结果。") % {"n": drawn.height},
        department=plan.department,
    )
    return plan


def redraw_matches(plan: InspectionPlan) -> bool:
    """Re-draw the plan from its recorded seed over today's population: True when the
    population is unchanged and the draw gives exactly the stored subjects."""
    scope = population(plan.field, plan.filters)
    if digest(scope) != plan.population_digest:
        return False
    drawn = select(scope, plan.ratios, plan.seed)
    stored = list(plan.inspections.order_by("subject_id").values_list("subject_id", "grade"))
    return list(drawn.iter_rows()) == stored


def plans_for(user: Any) -> QuerySet[InspectionPlan]:
    require_perm(user, "supervision.view_inspectionplan")
    return restrict(InspectionPlan.objects.select_related("field", "department"), user)


def inspections_for(user: Any) -> QuerySet[Inspection]:
    """Inspections a user may see: an inspector sees those assigned to them."""
    require_perm(user, "supervision.view_inspection")
    qs = restrict(
        Inspection.objects.select_related("plan", "subject", "inspector_a", "inspector_b"),
        user,
        "plan__department",
    )
    if user.has_role(Role.INSPECTOR) and not user.is_platform_wide:
        qs = qs.filter(Q(inspector_a=user) | Q(inspector_b=user))
    return qs


def public_results() -> QuerySet[Inspection]:
    """Reviewed results shown on the public site (抽查结果公示), newest first: plan,
    department, subject and result, of organisations only. A result awaiting review (审核) is
    not public. The grade at drawing is not published per subject; the public sees grades
    only in the aggregate of :func:`statistics`."""
    return (
        Inspection.objects.exclude(result="")
        .filter(reviewed_at__isnull=False)
        .exclude(subject__kind=SubjectKind.PERSON)
        .select_related("plan__department", "subject")
        .order_by("-inspected_on", "-id")
    )


# ----------------------------------------------------------------------------- results


@transaction.atomic
def record_result(
    user: Any,
    inspection: Inspection,
    *,
    result: str,
    findings: str = "",
    today: date | None = None,
) -> Inspection:
    """An assigned inspector records the result; it waits for review (审核) before it is
    published and collected (see :func:`review_result`)."""
    require_perm(user, "supervision.change_inspection")
    if not inspection.inspected_by(user):
        raise Forbidden(_("只有被派的检查人员可以录入检查结果"))
    # Lock the row: a reviewer may be approving the result being recorded.
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if inspection.result:
        raise DomainError("inspection_recorded", _("检查结果已录入，不能重复录入"))
    if result not in InspectionResult.values or not result:
        raise DomainError("result_invalid", _("请选择检查结果"), "result")
    if result in FINDINGS_REQUIRED and not findings.strip():
        raise DomainError("findings_required", _("发现问题的，须填写问题及处理情况"), "findings")
    inspection.result = result
    inspection.findings = findings.strip()
    inspection.inspected_on = today or timezone.localdate()
    inspection.recorded_by = user.username
    inspection.save()
    audit.record(
        "inspection.result",
        obj=inspection,
        subject=inspection.subject.code,
        purpose=_("录入双随机抽查结果"),
        after={"result": result, "review": "pending"},
    )
    notify(
        _("检查结果待审核：%(s)s") % {"s": inspection.subject.name},
        _("%(plan)s 的检查结果已录入，审核通过后公示。") % {"plan": inspection.plan.number},
        f"/backoffice/supervision/inspections/{inspection.pk}/",
        department=inspection.plan.department,
    )
    return inspection


@transaction.atomic
def review_result(
    user: Any,
    inspection: Inspection,
    *,
    approve: bool,
    note: str = "",
    today: date | None = None,
) -> Inspection:
    """审核: a reviewer of the plan's department approves a recorded result — it is then
    published and collected as a 双随机 抽查检查结果 (SJCC) record, so problems become behavior
    events — or returns it to the inspectors with the reason (they record it again)."""
    require_perm(user, "supervision.review_inspection")
    # Lock the row: two reviewers must not both approve (and collect) one result.
    inspection = (
        restrict(Inspection.objects.select_for_update(), user, "plan__department")
        .filter(pk=inspection.pk)
        .first()
    )
    if inspection is None:
        raise NotFound()
    if inspection.inspected_by(user):
        raise Forbidden(_("检查人员不能审核本人参与的检查结果"))
    if not inspection.result or inspection.reviewed_at is not None:
        raise DomainError("review_not_pending", _("该检查结果不在待审核状态"), status=409)
    note = note.strip()
    if not approve and not note:
        raise DomainError("review_note_required", _("退回时须填写退回理由"), "note")
    before = {"result": inspection.result, "review": "pending"}
    if approve:
        inspection.reviewed_by = user.get_full_name() or user.username
        inspection.reviewed_at = timezone.now()
        inspection.review_note = note
        day = inspection.inspected_on or today or timezone.localdate()
        inspection.record = _collect(inspection, user, day)
        after = {"result": inspection.result, "review": "approved", "record": inspection.record_id}
    else:
        inspection.review_note = note
        inspection.result = ""
        inspection.inspected_on = None
        after = {"result": "", "review": "returned"}
    inspection.save()
    plan = inspection.plan
    if approve and not plan.inspections.filter(reviewed_at__isnull=True).exists():
        plan.status = PlanStatus.CLOSED
        plan.save(update_fields=["status"])
    audit.record(
        "inspection.review",
        obj=inspection,
        subject=inspection.subject.code,
        purpose=note[:500] or _("审核双随机抽查结果"),
        before=before,
        after=after,
    )
    return inspection


def _collect(inspection: Inspection, user: Any, today: date) -> CreditRecord:
    subject, plan = inspection.subject, inspection.plan
    department = plan.department
    row = {
        "SJCC_JCDXMC": subject.name,
        "SJCC_ZTLB": KIND_LABEL[subject.kind],
        "SJCC_TYSHXYDM": subject.uscc or "",
        "SJCC_FDDBR": subject.legal_rep_name,
        "SJCC_JHBH": plan.number,
        "SJCC_RWMC": plan.title,
        "SJCC_JCLX": "双随机抽查",
        "SJCC_JCJG": inspection.result,
        "SJCC_WTMS": inspection.findings,
        "SJCC_JCRQ": today.isoformat(),
        "SJCC_JCJGMC": department.name,
        "SJCC_JCJGDM": department.uscc,
    }
    return collect_row(
        "SJCC",
        department,
        row,
        external_id=f"{plan.number}-{inspection.pk}",
        actor=user.username,
        today=today,
    )


@dataclass
class GradeStats:
    grade: str
    drawn: int
    inspected: int
    problems: int

    @property
    def problem_rate(self) -> float | None:
        return self.problems / self.inspected if self.inspected else None


def statistics(qs: QuerySet[Inspection]) -> list[GradeStats]:
    """Inspections and problem rate per grade at the time of drawing — whether the grades
    predict risk (a good model shows the rate rising from A to D)."""
    rows = {
        r["grade"]: r
        for r in qs.order_by()
        .values("grade")
        .annotate(
            drawn=Count("id"),
            inspected=Count("id", filter=~Q(result="")),
            problems=Count("id", filter=Q(result__in=PROBLEM_RESULTS)),
        )
    }
    return [
        GradeStats(
            g,
            rows.get(g, {}).get("drawn", 0),
            rows.get(g, {}).get("inspected", 0),
            rows.get(g, {}).get("problems", 0),
        )
        for g in GRADES
    ]
