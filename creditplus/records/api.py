from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from creditplus import ratelimit
from creditplus.accounts import audit
from creditplus.accounts.auth import AUTH
from creditplus.accounts.models import Department
from creditplus.accounts.permissions import get_for_user, require_perm
from creditplus.catalog.models import CatalogItem
from creditplus.errors import DomainError, NotFound
from creditplus.pages import PAGE_MAX, csv_download
from creditplus.records import ingest, jobs, services
from creditplus.records.choices import BatchSource
from creditplus.records.disclosure import subject_public_records
from creditplus.records.ingest import IngestOptions, ingest_rows
from creditplus.records.models import CreditRecord, IngestBatch, RowError, UploadJob
from creditplus.subjects.api import SubjectOut
from creditplus.subjects.queries import public_subjects

router = Router(tags=["信用信息归集"])
MAX_UPLOAD = 200 * 1024 * 1024
MAX_JSON_ROWS = 100_000


class FileWarningOut(Schema):
    code: str
    message: str
    columns: list[str] = []


class BatchOut(Schema):
    batch: int = Field(alias="pk")
    item: str = Field(alias="item.code")
    department: str = Field(alias="department.code")
    source: str
    external_id: str
    file_name: str
    status: str
    error_code: str
    error_message: str
    submitted: int
    accepted: int
    updated: int
    unchanged: int
    rejected: int
    created_at: datetime
    seconds: float
    file_warnings: list[FileWarningOut] = Field(
        [], description="关于整个文件的提示（如 columns_unknown：未识别、已忽略的列）"
    )
    unknown_values: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="各代码字段无法识别的值及其出现次数"
    )
    rejected_not_stored: int = Field(
        0, description="被拒收但未保存明细的行数（每批只保存前 10,000 个被拒收行的明细）"
    )

    @staticmethod
    def resolve_file_warnings(obj: IngestBatch) -> list[dict[str, Any]]:
        return (obj.stats or {}).get("file_warnings") or []

    @staticmethod
    def resolve_unknown_values(obj: IngestBatch) -> dict[str, dict[str, int]]:
        return (obj.stats or {}).get("unknown_values") or {}

    @staticmethod
    def resolve_rejected_not_stored(obj: IngestBatch) -> int:
        return int((obj.stats or {}).get("rejected_not_stored", 0))


class RowsIn(Schema):
    item: str = Field(..., max_length=32, description="信息事项编码，例如 CF")
    batch_id: str = Field(
        "",
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]*$",
        description="部门自己的批次号，重复提交不重复归集",
    )
    department: str | None = Field(None, max_length=18, description="仅区信用办代部门报送时填写")
    rows: list[dict[str, Any]] = Field(..., min_length=1, max_length=MAX_JSON_ROWS)


def _context(
    request: HttpRequest, item_code: str, department_code: str | None
) -> tuple[CatalogItem, Department]:
    user = request.auth
    require_perm(user, "records.add_ingestbatch")
    item = CatalogItem.objects.filter(code=item_code.upper()).first()
    if item is None:
        raise DomainError(
            "item_unknown", _("信息事项不存在：%(code)s") % {"code": item_code}, "item", status=404
        )
    if user.is_platform_wide and department_code:
        department = Department.objects.filter(code=department_code.upper()).first()
        if department is None:
            raise NotFound(field="department")
    elif user.department_id:
        department = user.department
    else:
        raise DomainError("department_required", _("请指定报送部门（department）"), "department")
    return item, department


def _source(request: HttpRequest) -> str:
    return BatchSource.API if getattr(request, "api_token", None) else BatchSource.UPLOAD


@router.post(
    "/batches", response={201: BatchOut, 200: BatchOut}, auth=AUTH, summary="报送 JSON 数据行"
)
def submit_rows(request: HttpRequest, payload: RowsIn) -> Status:
    item, department = _context(request, payload.item, payload.department)
    replay = _known_batch(department, payload.batch_id)
    batch = ingest_rows(
        payload.rows,
        IngestOptions(
            item=item,
            department=department,
            source=_source(request),
            external_id=payload.batch_id,
            actor=request.auth.get_username(),
        ),
    )
    return Status(200 if replay else 201, batch)


class JobProgress(Schema):
    stage: str
    stage_label: str
    done: int
    total: int
    percent: int


class JobOut(Schema):
    job: int = Field(alias="pk")
    url: str = Field(description="轮询此地址查看任务状态")
    item: str = Field(alias="item.code")
    department: str = Field(alias="department.code")
    file_name: str
    size: int
    status: str = Field(description="queued 排队中 / running 正在归集 / done 已完成 / failed 失败")
    progress: JobProgress | None = None
    batch: int | None = Field(None, alias="batch_id")
    batch_url: str | None = None
    error_code: str
    error_message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_url(job: UploadJob) -> str:
        return reverse("api:job_detail", kwargs={"job_id": job.pk})

    @staticmethod
    def resolve_progress(job: UploadJob) -> dict[str, Any] | None:
        return jobs.progress(job) or None

    @staticmethod
    def resolve_batch_url(job: UploadJob) -> str | None:
        if job.batch_id is None:
            return None
        return reverse("api:batch_detail", kwargs={"batch_id": job.batch_id})


@router.post(
    "/batches/file",
    response={202: JobOut, 200: BatchOut},
    auth=AUTH,
    summary="报送文件（CSV/XLSX/JSON），后台归集",
    description="文件保存后由后台任务归集，立即返回 202 和任务地址（url），轮询至 status 为 "
    "done（batch 为批次号）或 failed。已用过的批次号返回 200 和原批次。",
)
def submit_file(
    request: HttpRequest,
    file: File[UploadedFile],
    item: Form[str],
    batch_id: Form[str] = "",
    department: Form[str | None] = None,
) -> Status:
    catalog_item, dept = _context(request, item, department)
    if file.size and file.size > MAX_UPLOAD:
        raise DomainError("file_too_large", _("文件超过 200 MB，请拆分后报送"), "file", status=413)
    options = IngestOptions(
        item=catalog_item,
        department=dept,
        source=_source(request),
        file_name=file.name or "",
        external_id=batch_id[:64],
        actor=request.auth.get_username(),
    )
    replay = ingest._replayed(options)  # a known batch id: the original batch
    if replay is not None:
        return Status(200, replay)
    return Status(202, jobs.submit_upload(file.read(), options))


@router.get(
    "/jobs/{job_id}", response=JobOut, auth=AUTH, summary="报送任务状态", url_name="job_detail"
)
def job_detail(request: HttpRequest, job_id: int) -> UploadJob:
    require_perm(request.auth, "records.view_ingestbatch")
    return get_for_user(jobs.jobs_for(request.auth), request.auth, pk=job_id)


def _known_batch(department: Department, batch_id: str) -> bool:
    """A resubmitted batch id answers 200 with the original batch (nothing is ingested)."""
    return (
        bool(batch_id)
        and IngestBatch.objects.filter(department=department, external_id=batch_id).exists()
    )


class BatchFilter(Schema):
    item: str | None = Field(None, max_length=32)
    status: Literal["done", "failed"] | None = None
    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = Field(50, ge=1, le=100)


@router.get("/batches", response=list[BatchOut], auth=AUTH, summary="归集批次（本部门）")
def list_batches(request: HttpRequest, filters: Query[BatchFilter]) -> list[IngestBatch]:
    require_perm(request.auth, "records.view_ingestbatch")
    qs = services.batches_for(request.auth)
    if filters.item:
        qs = qs.filter(item__code=filters.item.upper())
    if filters.status:
        qs = qs.filter(status=filters.status)
    start = (filters.page - 1) * filters.page_size
    return list(qs[start : start + filters.page_size])


@router.get(
    "/batches/{batch_id}",
    response=BatchOut,
    auth=AUTH,
    summary="批次详情",
    url_name="batch_detail",
)
def batch_detail(request: HttpRequest, batch_id: int) -> IngestBatch:
    require_perm(request.auth, "records.view_ingestbatch")
    return get_for_user(services.batches_for(request.auth), request.auth, pk=batch_id)


class RowErrorOut(Schema):
    row_no: int
    field: str
    code: str
    message: str


@router.get("/batches/{batch_id}/errors", response=list[RowErrorOut], auth=AUTH, summary="错误行")
def batch_errors(
    request: HttpRequest, batch_id: int, page: int = Query(1, ge=1, le=PAGE_MAX)
) -> list[RowError]:
    require_perm(request.auth, "records.view_ingestbatch")
    batch = get_for_user(services.batches_for(request.auth), request.auth, pk=batch_id)
    audit.record("batch.view", obj=batch, purpose="查询错误行")
    start = (page - 1) * 100
    return list(batch.errors.order_by("row_no", "id")[start : start + 100])


@router.get("/batches/{batch_id}/rejected.csv", auth=AUTH, summary="下载被拒收的行（含错误原因）")
def batch_rejected_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    require_perm(request.auth, "records.view_ingestbatch")
    batch = get_for_user(services.batches_for(request.auth), request.auth, pk=batch_id)
    return csv_download(services.rejected_rows_csv(batch), f"rejected-{batch.pk}.csv")


class RetractIn(Schema):
    reason: str = Field(..., min_length=2, max_length=500)


class CorrectIn(RetractIn):
    changes: dict[str, str | None] = Field(..., min_length=1)


class RecordOut(Schema):
    id: int
    item: str = Field(alias="item.code")
    natural_key: str
    version: int
    is_current: bool
    status: str
    data: dict[str, Any] = Field(alias="values")


@router.post("/records/{record_id}/retract", response=RecordOut, auth=AUTH, summary="撤销记录")
def retract(request: HttpRequest, record_id: int, payload: RetractIn) -> CreditRecord:
    require_perm(request.auth, "records.change_creditrecord")
    record = get_for_user(services.records_for(request.auth), request.auth, pk=record_id)
    return services.retract_record(record, payload.reason)


@router.post(
    "/records/{record_id}/correct", response=RecordOut, auth=AUTH, summary="更正记录（生成新版本）"
)
def correct(request: HttpRequest, record_id: int, payload: CorrectIn) -> CreditRecord:
    require_perm(request.auth, "records.change_creditrecord")
    record = get_for_user(services.records_for(request.auth), request.auth, pk=record_id)
    return services.correct_record(record, payload.changes, payload.reason)


@router.get("/quality", auth=AUTH, summary="数据质量（归集量、错误率、完整性、及时性）")
def quality(
    request: HttpRequest, department: str | None = None, item: str | None = None
) -> dict[str, Any]:
    require_perm(request.auth, "records.view_ingestbatch")
    qs = services.batches_for(request.auth)
    if department:
        qs = qs.filter(department__code=department.upper())
    if item:
        qs = qs.filter(item__code=item.upper())
    return services.quality_figures(qs)


class RecordCount(Schema):
    item: str
    name: str
    count: int


class SubjectDetailOut(SubjectOut):
    enterprise_type: str
    industry: str
    address: str
    registered_capital: Decimal | None
    established_on: date | None
    public_records: list[RecordCount]


# The subject page of the API lives here, not in subjects/api.py: it counts public records,
# and subjects sits below records in the layer order (DESIGN.md).
@router.get(
    "/subjects/{code}",
    response=SubjectDetailOut,
    auth=None,
    tags=["信用主体"],
    summary="信用主体的公开信息",
)
def detail(request: HttpRequest, code: str) -> dict:
    ratelimit.check(request, "subject")
    subject = public_subjects().filter(uscc=code.strip().upper()).first()
    if subject is None:
        raise NotFound()
    # Only what the portal shows: records inside their publicity (records/disclosure.py).
    counts = (
        subject_public_records(subject)
        .values("item__code", "item__name")
        .annotate(n=Count("id"))
        .order_by("item__code")
    )
    data = {
        f: getattr(subject, f)
        for f in (
            "uscc",
            "name",
            "kind",
            "legal_rep_name",
            "status",
            "enterprise_type",
            "industry",
            "address",
            "registered_capital",
            "established_on",
        )
    }
    data["public_records"] = [
        {"item": c["item__code"], "name": c["item__name"], "count": c["n"]} for c in counts
    ]
    return data
