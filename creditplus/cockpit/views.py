"""The back-office home of the credit office (驾驶舱): the platform's key figures at a glance.

``/backoffice/`` shows the cockpit to users holding ``cockpit.view_cockpit`` (the credit
office, platform administrators) and the ordinary back-office home to everyone else;
``/backoffice/cockpit/`` shows it directly. The figures come from
:mod:`creditplus.cockpit.services`, cached for a few minutes; every view is audited.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import views as accounts_views
from creditplus.accounts.permissions import backoffice_view
from creditplus.cockpit import services
from creditplus.pages import audit_read
from creditplus.sanctions.choices import MeasureStatus

PERMISSION = "cockpit.view_cockpit"
HEADLINE_STATUSES = (
    MeasureStatus.IMPLEMENTED,
    MeasureStatus.IN_PROGRESS,
    MeasureStatus.COORDINATION,
)


def _bar_height(bars: int) -> int:
    """Pixel height of a horizontal bar chart with ``bars`` categories."""
    return max(200, 80 + 24 * bars)


def backoffice_home(request: HttpRequest) -> HttpResponse:
    """``/backoffice/`` (``accounts:home``): the cockpit for those who may see it, a
    department's to-do list for department users, else the accounts app's home (which also
    sends anonymous users to the login page)."""
    user = request.user
    if user.is_authenticated and not user.is_system and user.has_perm(PERMISSION):
        return home(request)
    if user.is_authenticated and user.is_department_scoped and user.department_id:
        return department_home(request)
    return accounts_views.home(request)


@backoffice_view()
def department_home(request: HttpRequest) -> HttpResponse:
    """A department's back-office home: its to-do counts, each linking to its list."""
    todo = services.department_todo(request.user, timezone.localdate())
    audit_read(
        "cockpit.department_home",
        "cockpit.cockpit",
        _("查看部门待办"),
        sum(row["count"] for row in todo),
        "",
    )
    return render(request, "cockpit/department_home.html", {"todo": todo})


def _chart(data: dict[str, Any], status_cards: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures the page's ECharts read (the same figures are in its tables)."""
    departments = [d for d in data["records"]["departments"] if d["batches"]]
    feedback = data["sanctions"]["departments"]
    grades = data["grades"]["grades"] if data["grades"] and data["grades"]["total"] else []
    return {
        "departments": {
            "names": [d["name"] for d in departments],
            "records": [d["records"] for d in departments],
            "updates": [d["updates"] for d in departments],
        },
        "trend": {
            "months": [m["month"] for m in data["trend"]],
            "records": [m["records"] for m in data["trend"]],
            "updates": [m["updates"] for m in data["trend"]],
        },
        "status": [{"name": str(c["label"]), "value": c["count"]} for c in status_cards],
        "feedback": {
            "names": [d["name"] for d in feedback],
            "rates": [
                round(100 * d["feedback_rate"], 1) if d["feedback_rate"] is not None else 0
                for d in feedback
            ],
        },
        "grades": [
            {"name": f"{g['grade']} {g['label']}".strip(), "value": g["count"]} for g in grades
        ],
    }


@backoffice_view(PERMISSION)
def home(request: HttpRequest) -> HttpResponse:
    """The cockpit. ``?refresh=1`` recomputes the cached figures, then shows them."""
    if request.GET.get("refresh"):
        services.cached_figures(refresh=True)
        return redirect(request.path)
    data = services.cached_figures()
    status = data["sanctions"]["status"]
    status_cards = [
        {"value": value, "label": label, "count": status.get(value, 0)}
        for value, label in MeasureStatus.choices
    ]
    pending = data["pending"]["rows"]
    chart = _chart(data, status_cards)
    audit_read(
        "cockpit.view", "cockpit.cockpit", _("查看驾驶舱"), len(pending), request.GET.urlencode()
    )
    return render(
        request,
        "cockpit/home.html",
        {
            "data": data,
            "status_cards": status_cards,
            # The headline of the seed: 已完成 / 推进中 / 需协调 (未启动 is in the section).
            "headline_statuses": [c for c in status_cards if c["value"] in HEADLINE_STATUSES],
            "chart": chart,
            "heights": {
                "departments": _bar_height(len(chart["departments"]["names"])),
                "feedback": _bar_height(len(chart["feedback"]["names"])),
            },
            "cache_minutes": services.CACHE_SECONDS // 60,
        },
    )
