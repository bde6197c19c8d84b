"""Back-office pages of joint reward and punishment (联合奖惩): the measure catalog, cases,
the department task inbox with feedback, the overdue list, and credit checks.

Views stay thin: they scope objects with ``tasks_for`` / ``restrict``, call the service
functions and show a :class:`DomainError` with the form that caused it. A :class:`NotFound`
passes through to ``backoffice_view`` (404); a :class:`Forbidden` of a check or feedback is
shown as a 403 page with the service's reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Min, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from creditplus.accounts.permissions import (
    acts_for,
    backoffice_view,
    get_for_user,
    require_perm,
    restrict,
)
from creditplus.errors import NotFound, refusals_on
from creditplus.lists.models import ListEntry
from creditplus.pages import (
    audited_csv,
    audited_page,
    filters_of,
    page_of,
    post_action,
    querystring,
)
from creditplus.sanctions import checks, services
from creditplus.sanctions.choices import MeasureStatus, Target, TaskStatus
from creditplus.sanctions.forms import (
    BulkCheckForm,
    BulkFeedbackForm,
    CaseFilterForm,
    CheckFilterForm,
    CheckForm,
    EntryLookupForm,
    FeedbackForm,
    InitiateForm,
    MeasureFilterForm,
    ReportForm,
    TaskFilterForm,
)
from creditplus.sanctions.models import CreditCheck, Measure, SanctionCase, SanctionTask

# Hits listed on the page after a bulk check; the download has them all.
BULK_HITS_SHOWN = 200


# --------------------------------------------------------------------------- dashboard


@backoffice_view("sanctions.view_measure")
def dashboard(request: HttpRequest) -> HttpResponse:
    """Catalog status (big numbers and a pie) and the task statistics of the user's scope."""
    summary = services.status_summary()
    status_cards = [
        {"value": value, "label": label, "count": summary.get(value, 0)}
        for value, label in MeasureStatus.choices
    ]
    stats = services.statistics(services.tasks_for(request.user))
    chart = {
        "status": [{"name": str(c["label"]), "value": c["count"]} for c in status_cards],
        "departments": [
            {
                "name": row["department__name"],
                "initiated": row["initiated"],
                "fed_back": row["fed_back"],
                "applied": row["applied"],
                "overdue": row["overdue"],
            }
            for row in stats["by_department"]
        ],
    }
    return render(
        request,
        "sanctions/dashboard.html",
        {
            "status_cards": status_cards,
            "measure_total": sum(summary.values()),
            "stats": stats,
            "chart": chart,
        },
    )


# --------------------------------------------------------------------------- measures


@backoffice_view("sanctions.view_measure")
def measures(request: HttpRequest) -> HttpResponse:
    """The measure catalog (事项目录) with its filters."""
    form = MeasureFilterForm(request.GET or None)
    qs = form.apply(Measure.objects.prefetch_related("list_types", "departments"))
    return render(request, "sanctions/measures.html", {"form": form, "measures": qs})


@backoffice_view("sanctions.view_measure")
def measure(request: HttpRequest, code: str) -> HttpResponse:
    """One measure: lists, departments, matters, legal basis and whom it applies to."""
    obj = Measure.objects.filter(code=code).first()
    if obj is None:
        raise NotFound()
    targets = [Target(t).label for t in obj.applies_to if t in Target.values]
    task_count = (
        services.tasks_for(request.user).filter(measure=obj).count()
        if request.user.has_perm("sanctions.view_sanctiontask")
        else None
    )
    return render(
        request,
        "sanctions/measure.html",
        {
            "measure": obj,
            "targets": targets,
            "list_types": obj.list_types.select_related("deciding_department"),
            "departments": obj.departments.all(),
            "matters": obj.matters.all(),
            "task_count": task_count,
        },
    )


# --------------------------------------------------------------------------- cases


def cases_for(user: Any) -> QuerySet[SanctionCase]:
    """Cases ``user`` may see: all for the credit office, for a department those with a task
    of its own."""
    qs = SanctionCase.objects.select_related("subject", "entry__list_type")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_platform_wide:
        return qs
    if user.is_department_scoped and user.department_id:
        ids = SanctionTask.objects.filter(department=user.department_id).values("case_id")
        return qs.filter(pk__in=ids)
    return qs.none()


@backoffice_view("sanctions.view_sanctioncase")
def cases(request: HttpRequest) -> HttpResponse:
    """Cases in the user's scope, searchable, newest first."""
    form = CaseFilterForm(request.GET or None)
    qs = (
        form.apply(cases_for(request.user))
        .annotate(task_count=Count("tasks"))
        .order_by("-initiated_at", "-id")
    )
    page = audited_page(
        request, qs, "sanction.cases.view", "sanctions.sanctioncase", _("查看奖惩事项")
    )
    return render(
        request,
        "sanctions/cases.html",
        {"form": form, "page_obj": page, "querystring_base": querystring(request)},
    )


@backoffice_view("sanctions.view_sanctioncase")
def case(request: HttpRequest, pk: int) -> HttpResponse:
    """One case and its tasks (the user's department's, all for the credit office)."""
    obj = cases_for(request.user).filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    tasks = services.tasks_for(request.user).filter(case=obj).order_by("measure__code", "id")
    return render(
        request,
        "sanctions/case.html",
        {"case": obj, "tasks": tasks, "today": timezone.localdate()},
    )


@backoffice_view("sanctions.add_sanctioncase")
def initiate(request: HttpRequest) -> HttpResponse:
    """人工发起 by the credit office for a list entry (``?entry=<id>``)."""
    user = request.user
    lookup = EntryLookupForm(request.GET if "entry" in request.GET else None)
    if not lookup.is_valid():
        return render(request, "sanctions/initiate.html", {"lookup": lookup, "entry": None})
    entry = get_for_user(
        ListEntry.objects.select_related("subject", "list_type", "department"),
        user,
        pk=lookup.cleaned_data["entry"],
    )
    form = InitiateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusals_on(form):
            created = services.initiate_manually(user, entry, form.cleaned_data["reason"])
            messages.success(
                request,
                _("已发起奖惩事项 %(no)s，推送实施任务 %(n)d 项。")
                % {"no": created.number, "n": created.tasks.count()},
            )
            return redirect("sanctions:case", pk=created.pk)
    open_case = entry.cases.filter(status="open").first()
    return render(
        request,
        "sanctions/initiate.html",
        {"lookup": lookup, "entry": entry, "form": form, "open_case": open_case},
    )


# --------------------------------------------------------------------------- tasks


TASK_CSV_COLUMNS = (
    (gettext_lazy("任务编号"), lambda t: t.number),
    (gettext_lazy("奖惩事项"), lambda t: t.case.number),
    (gettext_lazy("信用主体"), lambda t: t.case.subject.name),
    (gettext_lazy("统一社会信用代码"), lambda t: t.case.subject.code),
    (gettext_lazy("措施编码"), lambda t: t.measure.code),
    (gettext_lazy("措施名称"), lambda t: t.measure.name),
    (gettext_lazy("实施部门"), lambda t: t.department.name),
    (gettext_lazy("实施对象"), lambda t: t.get_target_display()),
    (gettext_lazy("对象名称"), lambda t: t.target_name),
    (gettext_lazy("状态"), lambda t: t.get_status_display()),
    (
        gettext_lazy("推送时间"),
        lambda t: timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M"),
    ),
    (gettext_lazy("反馈期限"), lambda t: t.due_on),
    (gettext_lazy("实施事项"), lambda t: t.matter.name if t.matter_id else ""),
    (gettext_lazy("文书号"), lambda t: t.document_no),
    (gettext_lazy("反馈说明"), lambda t: t.outcome_note),
    (
        gettext_lazy("反馈时间"),
        lambda t: (
            timezone.localtime(t.fed_back_at).strftime("%Y-%m-%d %H:%M") if t.fed_back_at else ""
        ),
    ),
    (gettext_lazy("反馈人"), lambda t: t.fed_back_by),
)


@backoffice_view("sanctions.view_sanctiontask")
def tasks(request: HttpRequest) -> HttpResponse:
    """The task inbox: the department's tasks (all for the credit office), CSV export."""
    today = timezone.localdate()
    form = TaskFilterForm(request.GET or None)
    qs = form.apply(services.tasks_for(request.user), today)
    if request.GET.get("format") == "csv":
        return _tasks_csv(qs, form)
    base = querystring(request)
    page = audited_page(
        request, qs, "sanction.tasks.view", "sanctions.sanctiontask", _("查看实施任务")
    )
    user = request.user
    can_bulk = bool(user.has_perm("sanctions.change_sanctiontask") and user.department_id)
    return render(
        request,
        "sanctions/tasks.html",
        {
            "form": form,
            "page_obj": page,
            "querystring_base": base,
            "csv_query": f"{base}format=csv",
            "today": today,
            "bulk_form": BulkFeedbackForm() if can_bulk else None,
            "max_bulk": services.MAX_BULK_FEEDBACK,
        },
    )


@require_POST
@backoffice_view("sanctions.change_sanctiontask")
def tasks_feedback(request: HttpRequest) -> HttpResponse:
    """批量反馈 of the tasks ticked in the inbox: the same outcome for each, all or none."""
    # Back to the same filtered page; re-encoded, so only a query string can come back.
    query = QueryDict(request.POST.get("back", "")[:500]).urlencode()
    back = redirect(f"{reverse('sanctions:tasks')}?{query}")
    form = BulkFeedbackForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, "；".join(str(e) for e in errors))
        return back
    data = form.cleaned_data

    def feed_back() -> str:
        tasks = services.tasks_for(request.user)
        n = services.give_feedback_many(tasks, request.user, data["tasks"], **form.feedback())
        return _("已批量反馈 %(n)d 项任务。") % {"n": n}

    return post_action(request, feed_back, back)


def _tasks_csv(qs: QuerySet[SanctionTask], form: TaskFilterForm) -> HttpResponse:
    purpose = _("导出联合奖惩实施任务")
    filters = {"filters": filters_of(form)}
    return audited_csv(TASK_CSV_COLUMNS, qs, "sanction-tasks", "sanction.export", purpose, filters)


@backoffice_view("sanctions.view_sanctiontask")
def task(request: HttpRequest, pk: int) -> HttpResponse:
    """One task; its department feeds back here (applied / not applicable / failed)."""
    user = request.user
    obj = get_for_user(services.tasks_for(user), user, pk=pk)
    can_feed_back = (
        acts_for(user, "sanctions.change_sanctiontask", obj) and obj.status == TaskStatus.PENDING
    )
    form = None
    if request.method == "POST":
        require_perm(user, "sanctions.change_sanctiontask")
        form = FeedbackForm(request.POST, task=obj)
        if form.is_valid():

            def feed_back() -> str:
                services.give_feedback(obj, user, **form.feedback())
                return _("任务 %(no)s 已反馈。") % {"no": obj.number}

            back = redirect("sanctions:task", pk=obj.pk)
            if done := post_action(request, feed_back, back, form if can_feed_back else None):
                return done
    elif can_feed_back:
        form = FeedbackForm(task=obj)
    return render(
        request,
        "sanctions/task.html",
        {"task": obj, "form": form, "today": timezone.localdate()},
    )


@backoffice_view("sanctions.view_sanctioncase")
def overdue(request: HttpRequest) -> HttpResponse:
    """督办清单: pending standing-measure tasks past their deadline, by department (all for the
    credit office). Check-triggered tasks are answered by the check's report instead."""
    today = timezone.localdate()
    qs = services.tasks_for(request.user).escalated(today)
    by_department = (
        qs.order_by()
        .values("department__code", "department__name", "department__sort_order")
        .annotate(n=Count("id"), oldest=Min("due_on"), reminded=Count("reminded_at"))
        .order_by("department__sort_order", "department__code")
    )
    rows = qs.order_by("department__sort_order", "department__code", "due_on", "id")
    page = page_of(request, rows)
    for row in page:
        row.days_overdue = (today - row.due_on).days
    return render(
        request,
        "sanctions/overdue.html",
        {
            "by_department": by_department,
            "page_obj": page,
            "querystring_base": querystring(request),
            "today": today,
        },
    )


# --------------------------------------------------------------------------- credit checks


def _bulk_hits(result: checks.BulkResult) -> list[dict[str, Any]]:
    return [row for row in result.rows if row["lists"]][:BULK_HITS_SHOWN]


@backoffice_view("sanctions.add_creditcheck")
def check(request: HttpRequest) -> HttpResponse:
    """信用核查: one subject (answer shown here), or a file of codes (summary and hits)."""
    user = request.user
    form = CheckForm()
    bulk_form = BulkCheckForm(prefix="bulk")
    result = bulk = None
    if request.method == "POST" and request.POST.get("mode") == "bulk":
        bulk_form = BulkCheckForm(request.POST, request.FILES, prefix="bulk")
        if bulk_form.is_valid():
            data = bulk_form.cleaned_data
            with refusals_on(bulk_form, {"subjects": "file"}):
                bulk = checks.check_many(user, data["file"], data["matter"].code, data["purpose"])
    elif request.method == "POST":
        form = CheckForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            with refusals_on(form):
                result = checks.check_subject(
                    user, data["subject"], data["matter"].code, data["purpose"]
                )
    return render(
        request,
        "sanctions/check.html",
        {
            "form": form,
            "bulk_form": bulk_form,
            "result": result,
            "bulk": bulk,
            "bulk_hits": _bulk_hits(bulk) if bulk else [],
            "bulk_hits_shown": BULK_HITS_SHOWN,
        },
    )


def _checks_for(user: Any) -> QuerySet[CreditCheck]:
    return restrict(CreditCheck.objects.select_related("department", "matter", "subject"), user)


CHECK_CSV_COLUMNS = (
    (gettext_lazy("核查编号"), lambda c: c.number),
    (gettext_lazy("核查代码"), lambda c: c.identifier),
    (
        gettext_lazy("主体名称"),
        lambda c: c.subject.public_name if c.subject_id and c.subject else "",
    ),
    (gettext_lazy("找到主体"), lambda c: _("是") if c.subject_id else _("否")),
    (gettext_lazy("命中名单"), lambda c: _("是") if c.hit else _("否")),
    (
        gettext_lazy("名单"),
        lambda c: "；".join(f"{x['name']}（{x['department']}）" for x in c.answer.get("lists", [])),
    ),
    (
        gettext_lazy("适用措施"),
        lambda c: "；".join(f"{m['code']} {m['name']}" for m in c.answer.get("measures", [])),
    ),
    (gettext_lazy("办理事项"), lambda c: c.matter.code),
    (gettext_lazy("核查用途"), lambda c: c.purpose),
    (
        gettext_lazy("核查时间"),
        lambda c: timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
    ),
)


@backoffice_view("sanctions.view_creditcheck")
def check_batch(request: HttpRequest, batch: str) -> HttpResponse:
    """下载结果 of a bulk check, from its stored check rows."""
    qs = _checks_for(request.user).filter(batch=batch).order_by("id")
    if not batch or not qs.exists():
        raise NotFound()
    purpose = _("下载批量核查结果")
    name = f"credit-check-{batch}"
    return audited_csv(CHECK_CSV_COLUMNS, qs, name, "check.export", purpose, {"batch": batch})


@backoffice_view("sanctions.view_creditcheck")
def checks_list(request: HttpRequest) -> HttpResponse:
    """The department's check history (all departments for the credit office)."""
    form = CheckFilterForm(request.GET or None)
    qs = form.apply(_checks_for(request.user))
    page = audited_page(request, qs, "check.list.view", "sanctions.creditcheck", _("查看核查记录"))
    return render(
        request,
        "sanctions/checks.html",
        {"form": form, "page_obj": page, "querystring_base": querystring(request)},
    )


@backoffice_view("sanctions.view_creditcheck")
def check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One check's stored answer; its department reports here what it did with it."""
    user = request.user
    obj = get_for_user(
        CreditCheck.objects.select_related("department", "matter", "subject"), user, pk=pk
    )
    can_report = acts_for(user, "sanctions.add_creditcheck", obj) and not obj.reported_at
    form = None
    if request.method == "POST":
        require_perm(user, "sanctions.add_creditcheck")
        form = ReportForm(request.POST)
        if form.is_valid():

            def report() -> str:
                checks.report_use(obj, user, **form.cleaned_data)
                closed = obj.tasks.count()
                return _("已反馈核查结果使用情况，关闭实施任务 %(n)d 项。") % {"n": closed}

            back = redirect("sanctions:check_detail", pk=obj.pk)
            if done := post_action(request, report, back, form if can_report else None):
                return done
    elif can_report:
        form = ReportForm()
    return render(
        request,
        "sanctions/check_detail.html",
        {
            "check": obj,
            "form": form,
            "closed_tasks": obj.tasks.select_related("measure", "case"),
            "report_label": TaskStatus(obj.report_outcome).label if obj.report_outcome else "",
        },
    )
