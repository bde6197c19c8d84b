from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from creditplus.accounts import audit
from creditplus.accounts.permissions import backoffice_view, get_for_user
from creditplus.records import services
from creditplus.records.choices import BatchSource, error_label
from creditplus.records.forms import BatchFilterForm, UploadForm
from creditplus.records.ingest import IngestOptions, ingest_file


@backoffice_view("records.add_ingestbatch")
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = ingest_file(
            upload.read(),
            IngestOptions(
                item=form.cleaned_data["item"],
                department=form.cleaned_data["department"],
                source=BatchSource.UPLOAD,
                file_name=upload.name,
                external_id=form.cleaned_data["batch_id"],
                actor=request.user.get_username(),
            ),
        )
        return redirect("records:batch", batch_id=batch.pk)
    return render(request, "records/upload.html", {"form": form})


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
            "querystring_base": "",
        },
    )


@backoffice_view("records.view_ingestbatch")
def rejected_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    obj = get_for_user(services.batches_for(request.user), request.user, pk=batch_id)
    response = HttpResponse(services.rejected_rows_csv(obj), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-{obj.pk}.csv"'
    return response


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
