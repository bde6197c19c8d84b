"""Back-office pages of credit supervision (信用监管): the classification policy and lookup,
credit commitments (告知承诺) and their verification, 双随机 plans and inspection results,
and 双告知 notices.

Views stay thin: they scope objects with the ``*_for`` queries, call the service functions
and show a :class:`DomainError` with the form that caused it. A :class:`NotFound` passes
through to ``backoffice_view`` (404); a :class:`Forbidden` is a 403 page with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from creditplus.accounts import audit
from creditplus.accounts.permissions import acts_for, backoffice_view, get_for_user, require_perm
from creditplus.errors import DomainError, Forbidden, NotFound, refusals_on, show_on_form
from creditplus.pages import audited_page, page_of, post_action, querystring
from creditplus.supervision import dual_notice, inspections, services
from creditplus.supervision.choices import Channel, CommitmentStatus, Lane
from creditplus.supervision.forms import (
    CommitmentFilterForm,
    FollowUpForm,
    LookupForm,
    PaperCommitmentForm,
    PlanForm,
    ResultForm,
    ReviewForm,
    VerifyForm,
)
from creditplus.supervision.models import Inspection, SupervisionField

# Drawn subjects listed per page of a plan.
PLAN_PAGE_SIZE = 50


def percent(ratio: float | None) -> str:
    """A ratio (0–1) as a percentage without trailing zeros: 0.005 → "0.5"."""
    return "" if ratio is None else f"{float(ratio) * 100:g}"


def grade_chart(stats: list[inspections.GradeStats]) -> dict[str, list[Any]]:
    """The data of the problem-rate-by-grade chart: bars drawn/inspected, line rate in %."""
    return {
        "grades": [s.grade for s in stats],
        "drawn": [s.drawn for s in stats],
        "inspected": [s.inspected for s in stats],
        "rate": [None if s.problem_rate is None else round(100 * s.problem_rate, 1) for s in stats],
    }


# --------------------------------------------------------------------------- dashboard


def _policy_rows(field: SupervisionField) -> list[dict[str, Any]]:
    return [
        {
            "grade": grade,
            "ratio": percent(field.rule(grade)["ratio"]),
            "per_year": field.rule(grade)["per_year"],
            "lane": field.rule(grade)["lane"],
            "lane_label": Lane(field.rule(grade)["lane"]).label,
            "measures": field.rule(grade).get("measures", ""),
        }
        for grade in services.GRADES
    ]


@backoffice_view("supervision.view_supervisionfield")
def dashboard(request: HttpRequest) -> HttpResponse:
    """The fields and their grade policies, the classification lookup (audited), and the
    problem rate by grade of the inspections in the user's scope."""
    user = request.user
    fields = [
        (field, _policy_rows(field))
        for field in SupervisionField.objects.select_related("department")
    ]
    form = LookupForm(request.GET if "uscc" in request.GET else None)
    result = None
    if form.is_valid():
        subject = form.cleaned_data["uscc"]
        result = services.supervision_for(subject, form.cleaned_data["field"])
        result["ratio_percent"] = percent(result["ratio"])
        audit.record(
            "supervision.query", obj=subject, subject=subject.code, purpose=_("分类监管措施查询")
        )
    stats = None
    if user.has_perm("supervision.view_inspection"):
        stats = inspections.statistics(inspections.inspections_for(user))
        for s in stats:
            s.rate_percent = percent(s.problem_rate)
    return render(
        request,
        "supervision/dashboard.html",
        {
            "fields": fields,
            "form": form,
            "result": result,
            "stats": stats,
            "chart": grade_chart(stats) if stats else None,
        },
    )


# --------------------------------------------------------------------------- commitments


def _pending_first(qs: QuerySet[Any], pending: Q) -> QuerySet[Any]:
    """``qs`` annotated with ``handled`` (0 for the rows matching ``pending``, else 1), to
    order the rows still waiting for the user first."""
    return qs.annotate(
        handled=Case(When(pending, then=Value(0)), default=Value(1), output_field=IntegerField())
    )


@backoffice_view("supervision.view_commitment")
def commitments(request: HttpRequest) -> HttpResponse:
    """The department's commitments (all for the office): pending first by deadline."""
    today = timezone.localdate()
    form = CommitmentFilterForm(request.GET or None)
    qs = _pending_first(
        form.apply(services.commitments_for(request.user)), Q(status=CommitmentStatus.SIGNED)
    ).order_by("handled", "verify_due", "-id")
    page = audited_page(
        request, qs, "commitment.query", "supervision.commitment", _("查看信用承诺")
    )
    for commitment in page:
        commitment.overdue = commitment.is_overdue(today)
    return render(
        request,
        "supervision/commitments.html",
        {"form": form, "page_obj": page, "querystring_base": querystring(request)},
    )


@backoffice_view("supervision.add_commitment")
def commitment_new(request: HttpRequest) -> HttpResponse:
    """窗口录入: a paper commitment signed at a window, recorded by a clerk or an officer."""
    user = request.user
    form = PaperCommitmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with refusals_on(form, {"subject": "uscc"}):
            created = services.sign_commitment(
                user,
                data["template"],
                data["uscc"],
                reason=data["reason"],
                signer=data["signer"],
                channel=Channel.PAPER,
                published=data["published"],
            )
            messages.success(
                request,
                _("已录入信用承诺 %(no)s，核查期限 %(due)s。")
                % {"no": created.number, "due": created.verify_due},
            )
            visible = user.has_perm("supervision.view_commitment") and (
                services.commitments_for(user).filter(pk=created.pk).exists()
            )
            if visible:
                return redirect("supervision:commitment", number=created.number)
            return redirect("supervision:commitment_new")
    return render(request, "supervision/commitment_new.html", {"form": form})


@backoffice_view("supervision.view_commitment")
def commitment(request: HttpRequest, number: str) -> HttpResponse:
    """One commitment; its department verifies it here while it is pending."""
    user = request.user
    obj = get_for_user(services.commitments_for(user), user, number=number)
    can_verify = (
        acts_for(user, "supervision.change_commitment", obj)
        and obj.status == CommitmentStatus.SIGNED
    )
    form = None
    if request.method == "POST":
        require_perm(user, "supervision.change_commitment")
        form = VerifyForm(request.POST)
        if form.is_valid():

            def verify() -> str:
                services.verify_commitment(user, obj, **form.cleaned_data)
                return _("承诺 %(no)s 已核查。") % {"no": obj.number}

            back = redirect("supervision:commitment", number=obj.number)
            if done := post_action(request, verify, back, form if can_verify else None):
                return done
    else:
        audit.record(
            "commitment.view", obj=obj, subject=obj.subject.code, purpose=_("查看信用承诺")
        )
        if can_verify:
            form = VerifyForm()
    return render(
        request,
        "supervision/commitment.html",
        {
            "commitment": obj,
            "form": form,
            "overdue": obj.is_overdue(timezone.localdate()),
            "record": obj.record if obj.record_id else None,
        },
    )


# --------------------------------------------------------------------------- 双随机 plans


@backoffice_view("supervision.view_inspectionplan")
def plans(request: HttpRequest) -> HttpResponse:
    """The department's plans (all for the office), newest first."""
    qs = inspections.plans_for(request.user).order_by("-id")
    page = audited_page(
        request, qs, "inspection.plan.query", "supervision.inspectionplan", _("查看抽查计划")
    )
    return render(
        request,
        "supervision/plans.html",
        {"page_obj": page, "querystring_base": querystring(request)},
    )


@backoffice_view("supervision.add_inspectionplan")
def plan_new(request: HttpRequest) -> HttpResponse:
    """创建抽查计划: scope, ratios (prefilled from the field's policy), seed → the draw."""
    user = request.user
    fields = list(SupervisionField.objects.all())
    if request.method == "POST":
        form = PlanForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            with refusals_on(form):
                plan = inspections.draw_plan(
                    user,
                    data["field"],
                    data["title"],
                    matter=data["matter"],
                    filters=form.filters(),
                    ratios=form.ratios(),
                    seed=data["seed"],
                )
                messages.success(
                    request,
                    _("已抽取 %(n)d 个检查对象，随机种子 %(seed)s。")
                    % {"n": plan.inspections.count(), "seed": plan.seed},
                )
                return redirect("supervision:plan", number=plan.number)
    else:
        chosen = next((f for f in fields if f.code == request.GET.get("field")), None)
        chosen = chosen or next((f for f in fields if f.department_id == user.department_id), None)
        chosen = chosen or (fields[0] if fields else None)
        initial = {"field": chosen.code if chosen else None, **PlanForm.policy_initial(chosen)}
        form = PlanForm(initial=initial)
    policies = {f.code: {k[-1]: v for k, v in PlanForm.policy_initial(f).items()} for f in fields}
    return render(request, "supervision/plan_new.html", {"form": form, "policies": policies})


@backoffice_view("supervision.view_inspectionplan")
def plan(request: HttpRequest, number: str) -> HttpResponse:
    """One plan: seed, population and digest, counts per grade, the drawn subjects with
    their inspectors and results; ``?verify=1`` re-draws it from the seed (复核抽取)."""
    user = request.user
    obj = get_for_user(inspections.plans_for(user), user, number=number)
    audit.record("inspection.plan.view", obj=obj, purpose=_("查看抽查计划"))
    stats = inspections.statistics(obj.inspections.all())
    for s in stats:
        s.ratio_percent = percent(obj.ratios.get(s.grade))
        s.rate_percent = percent(s.problem_rate)
    drawn = obj.inspections.select_related("subject", "inspector_a", "inspector_b").order_by("id")
    verified = inspections.redraw_matches(obj) if request.GET.get("verify") else None
    return render(
        request,
        "supervision/plan.html",
        {
            "plan": obj,
            "stats": stats,
            "page_obj": page_of(request, drawn, PLAN_PAGE_SIZE),
            "querystring_base": querystring(request),
            "verified": verified,
            "filters": json.dumps(obj.filters, ensure_ascii=False) if obj.filters else "",
        },
    )


# --------------------------------------------------------------------------- inspections


@backoffice_view("supervision.view_inspection")
def inspection_list(request: HttpRequest) -> HttpResponse:
    """检查任务: an inspector's own (the department's for an officer), pending first."""
    # Waiting: not recorded yet, or recorded and awaiting review (审核).
    qs = _pending_first(
        inspections.inspections_for(request.user), Q(reviewed_at__isnull=True)
    ).order_by("handled", "-plan_id", "id")
    page = audited_page(
        request, qs, "inspection.query", "supervision.inspection", _("查看检查任务")
    )
    return render(
        request,
        "supervision/inspections.html",
        {"page_obj": page, "querystring_base": querystring(request)},
    )


@backoffice_view("supervision.view_inspection")
def inspection(request: HttpRequest, pk: int) -> HttpResponse:
    """One inspection: one of its two drawn inspectors records the result here, and a
    reviewer of the department (not one of them) approves it for publication or returns it."""
    user = request.user
    obj: Inspection = get_for_user(
        inspections.inspections_for(user), user, "plan__department", pk=pk
    )
    can_record = bool(
        user.has_perm("supervision.change_inspection") and obj.inspected_by(user) and not obj.result
    )
    can_review = bool(
        user.has_perm("supervision.review_inspection")
        and obj.awaiting_review
        and not obj.inspected_by(user)
    )
    form = ResultForm() if can_record else None
    review_form = ReviewForm() if can_review else None
    if request.method == "POST" and request.POST.get("step") == "review":
        review_form = ReviewForm(request.POST)
        done = _review(request, obj, review_form)
        if done is not None:
            return done
    elif request.method == "POST":
        form = ResultForm(request.POST)
        done = _record(request, obj, form, can_record)
        if done is not None:
            return done
    else:
        audit.record(
            "inspection.view", obj=obj, subject=obj.subject.code, purpose=_("查看检查任务")
        )
    return render(
        request,
        "supervision/inspection.html",
        {"inspection": obj, "form": form, "review_form": review_form},
    )


def _record(
    request: HttpRequest, obj: Inspection, form: ResultForm, can_record: bool
) -> HttpResponse | None:
    require_perm(request.user, "supervision.change_inspection")
    if not form.is_valid():
        return None

    def record() -> str:
        inspections.record_result(request.user, obj, **form.cleaned_data)
        return _("检查结果已录入，审核通过后向社会公示。")

    back = redirect("supervision:inspection", pk=obj.pk)
    return post_action(request, record, back, form if can_record else None)


def _review(request: HttpRequest, obj: Inspection, form: ReviewForm) -> HttpResponse | None:
    require_perm(request.user, "supervision.review_inspection")
    if not form.is_valid():
        return None
    approve = form.cleaned_data["decision"] == "approve"
    try:
        inspections.review_result(
            request.user, obj, approve=approve, note=form.cleaned_data["note"]
        )
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        if exc.field == "note":
            show_on_form(form, exc)
            return None
        messages.error(request, str(exc.message))
        return redirect("supervision:inspection", pk=obj.pk)
    if approve:
        messages.success(request, _("审核通过：检查结果已公示并归集。"))
    else:
        messages.success(request, _("已退回检查人员重新录入。"))
    return redirect("supervision:inspection", pk=obj.pk)


# --------------------------------------------------------------------------- 双告知


@backoffice_view("supervision.view_permitnotice")
def notices(request: HttpRequest) -> HttpResponse:
    """The department's 双告知 notices (all for the office), open ones first."""
    user = request.user
    qs = _pending_first(dual_notice.notices_for(user), Q(closed_at__isnull=True)).order_by(
        "handled", "-notified_at", "id"
    )
    page = audited_page(
        request, qs, "dual_notice.query", "supervision.permitnotice", _("查看双告知")
    )
    can_follow_up = bool(user.has_perm("supervision.change_permitnotice") and user.department_id)
    for notice in page:
        notice.can_follow_up = (
            can_follow_up and notice.is_open and notice.department_id == user.department_id
        )
    return render(
        request,
        "supervision/notices.html",
        {"page_obj": page, "querystring_base": querystring(request), "form": FollowUpForm()},
    )


@require_POST
@backoffice_view("supervision.change_permitnotice")
def notice_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """POST the department's follow-up of one notice, which closes it."""
    user = request.user
    notice = get_for_user(dual_notice.notices_for(user), user, pk=pk)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写跟进情况"))
        return redirect("supervision:notices")
    try:
        dual_notice.follow_up(user, notice, form.cleaned_data["note"])
    except (Forbidden, NotFound):  # the 403 page saying why, or the 404
        raise
    except DomainError as exc:
        if exc.status == 403:  # a refusal of the role: the 403 page saying why
            raise Forbidden(exc.message) from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("已跟进：%(s)s → %(p)s") % {"s": notice.subject.name, "p": notice.permit},
        )
    return redirect("supervision:notices")
