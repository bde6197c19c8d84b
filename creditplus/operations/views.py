"""The platform administrator's health page (运行状况), the back-office view of
``creditplus doctor``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from creditplus.accounts.jobs import last_runs
from creditplus.accounts.permissions import backoffice_view
from creditplus.operations import doctor
from creditplus.operations.schedule import SCHEDULE
from creditplus.pages import audit_read

BADGE = {doctor.Status.OK: "ok", doctor.Status.WARNING: "warn", doctor.Status.ERROR: "bad"}


@backoffice_view(doctor.READ_PERMISSION)
def health(request: HttpRequest) -> HttpResponse:
    result = doctor.report()
    audit_read("health.view", "health", "运行状况检查", len(result.findings))
    findings = sorted(result.findings, key=lambda f: -doctor.RANK[f.status])
    runs = last_runs()
    schedule = [(job, runs.get(job.name, {}).get("last")) for job in SCHEDULE]
    return render(
        request,
        "operations/health.html",
        {
            "result": result,
            "findings": [(f, BADGE[f.status]) for f in findings],
            "overall_badge": BADGE[result.status],
            "counts": {s.label: sum(f.status == s for f in findings) for s in doctor.Status},
            "schedule": schedule,
        },
    )
