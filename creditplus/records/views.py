from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from creditplus.accounts import audit
from creditplus.accounts.permissions import backoffice_view, get_for_user
from creditplus.errors import DomainError
from creditplus.pages import csv_download
from creditplus.records import ingest, jobs, services
from creditplus.records.choices import BatchSource, JobStatus, error_label
from creditplus.records.forms import BatchFilterForm, UploadForm
from creditplus.records.ingest import IngestOptions


@backoffice_view("records.add_ingestbatch")
def upload(request: HttpRequest) -> HttpResponse:
    """Store the file and queue its ingest; the job page follows it to the batch."""
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        options = IngestOptions(
            item=form.cleaned_data["item"],
            department=form.cleaned_data["department"],
            source=BatchSource.UPLOAD,
            file_name=upload.name,
            external_id=form.cleaned_data["batch_id"],
            actor=request.user.get_username(),
        )
        try:
            replay = ingest._replayed(options)  # a known batch id: show the original batch
            if replay is not None:
                return redirect("records:batch", batch_id=replay.pk)
            job = jobs.submit_upload(upload.read(), options, ask_confirmation=True)
        except DomainError as exc:
            form.add_error(None, f"{exc.message}（{exc.code}）")
        else:
            return redirect("records:job", job_id=job.pk)
    return render(request, "records/upload.html", {"form": form})


@backoffice_view("records.view_ingestbatch")
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The upload's job: waiting or running (the page reloads itself), a preview waiting for
    confirmation, or failed; once done, the batch."""
    obj = get_for_user(jobs.jobs_for(request.user), request.user, pk=job_id)
    if obj.status == JobStatus.DONE and obj.batch_id:
        return redirect("records:batch", batch_id=obj.batch_id)
    may_confirm = request.user.has_perm("records.add_ingestbatch")
    return render(
        request,
        "records/job.html",
        {"job": obj, "progress": jobs.progress(obj), "may_confirm": may_confirm},
    )


@backoffice_view("records.add_ingestbatch")
@require_POST
def job_decide(request: HttpRequest, job_id: int) -> HttpResponse:
    """Confirm (ingest) or cancel a previewed upload."""
    obj = get_for_user(jobs.jobs_for(request.user), request.user, pk=job_id)
    try:
        if request.POST.get("action") == "confirm":
            jobs.confirm_job(obj, request.user)
        else:
            jobs.cancel_job(obj, request.user)
    except DomainError as exc:
        messages.error(request, f"{exc.message}（{exc.code}）")
    return redirect("records:job", job_id=obj.pk)


@backoffice_view("records.view_ingestbatch")
def batches(request: HttpRequest) -> HttpResponse:
    form = BatchFilterForm(request.GET or None)
    qs = services.batches_for(request.user)
    if form.is_valid():
        if form.cleaned_data["item"]:
            qs = qs.filter(item=form.cleaned_data["item"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    base = query.urlencode()
    return render(
        request,
        "records/batches.html",
        {
            "form": form,
            "page_obj": page,
            "querystring_base": f"{base}&" if base else "",
        },
    )


@backoffice_view("records.view_ingestbatch")
def batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    obj = get_for_user(services.batches_for(request.user), request.user, pk=batch_id)
    audit.record("batch.view", obj=obj, purpose="查看归集批次及错误行")
    errors = Paginator(obj.errors.order_by("row_no", "id"), 50).get_page(request.GET.get("page"))
    labels = {f.code: f.label for f in obj.item.spec.fields}
    stats = obj.stats or {}
    completeness = [
        (labels.get(code, code), round(100 * n / stats["rows"], 1))
        for code, n in (stats.get("filled") or {}).items()
        if stats.get("rows")
    ]
    return render(
        request,
        "records/batch.html",
        {
            "batch": obj,
            "page_obj": errors,
            "labels": labels,
            "rows": [
                {"error": e, "field": labels.get(e.field, e.field), "kind": error_label(e.code)}
                for e in errors
            ],
            "completeness": completeness,
            "timeliness": stats.get("timeliness"),
            "file_warnings": stats.get("file_warnings") or [],
            "unknown_values": [
                (labels.get(code, code), sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
                for code, values in (stats.get("unknown_values") or {}).items()
            ],
            "querystring_base": "",
        },
    )


@backoffice_view("records.view_ingestbatch")
def rejected_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    obj = get_for_user(services.batches_for(request.user), request.user, pk=batch_id)
    return csv_download(services.rejected_rows_csv(obj), f"rejected-{obj.pk}.csv")


@backoffice_view("records.view_ingestbatch")
def quality(request: HttpRequest) -> HttpResponse:
    figures = services.quality_figures(services.batches_for(request.user))
    labelled = services.quality_labels(figures)
    return render(
        request,
        "records/quality.html",
        {
            "figures": figures,
            "completeness": labelled["completeness"],
            "chart": {"volume": figures["volume"], "errors": labelled["errors"]},
        },
    )
