"""Uploads as background jobs: the upload page and ``POST /api/v1/batches/file`` store the
file and queue a task (django-tasks, database backend); the worker (``creditplus
db_worker``) ingests it, so no web worker is held for the minutes a big file takes. The
page and the API poll the job: status, the progress of the running ingest, then the batch.

Uploads from the page that would replace many current records (``CONFIRM_UPDATES`` or more)
stop first with a preview (counts and a sample of the changes, computed without writing by
``ingest.preview_file``) until an officer of the department confirms. The API and the CLI
do not ask: a department system cannot answer a question.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.permissions import restrict
from creditplus.errors import DomainError
from creditplus.records import ingest
from creditplus.records.choices import JobStatus
from creditplus.records.ingest import IngestOptions, Progress
from creditplus.records.models import UploadJob

logger = logging.getLogger(__name__)
# An upload from the page that would replace at least this many current records is shown
# as a preview first and waits for confirmation.
CONFIRM_UPDATES = 20
PREVIEW_SAMPLE = 10
PROGRESS_EVERY = 0.5  # seconds between two progress writes of a running job


def job_dir() -> Path:
    return Path(settings.VAR_DIR) / "uploads" / "jobs"


def jobs_for(user: Any) -> QuerySet[UploadJob]:
    """Jobs ``user`` may see: the own department's, or all for the credit office."""
    return restrict(UploadJob.objects.select_related("department", "item", "batch"), user)


def submit_upload(
    content: bytes, options: IngestOptions, *, ask_confirmation: bool = False
) -> UploadJob:
    """Store the file and queue its ingest (audited). What needs no reading of the file (an
    inactive item, an item the department does not provide) is refused at once."""
    ingest._check_allowed(options)
    directory = job_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.upload"
    (directory / name).write_bytes(content)
    with transaction.atomic():
        job = UploadJob.objects.create(
            department=options.department,
            item=options.item,
            source=options.source,
            file_name=options.file_name[:255],
            size=len(content),
            path=name,
            external_id=options.external_id[:64],
            created_by=options.actor[:150],
            context=dataclasses.asdict(audit.current_context()),
            ask_confirmation=ask_confirmation,
        )
        audit.record(
            "ingest.job",
            obj=job,
            purpose=_("数据归集"),
            after={"item": options.item.code, "file": job.file_name, "size": job.size},
        )
        _enqueue(job)
    return job


def _enqueue(job: UploadJob) -> None:
    # The database backend writes the task row in this transaction: job and task commit
    # together, or neither does.
    from creditplus.records.tasks import ingest_upload

    ingest_upload.enqueue(job.pk)


def run_job(job_id: int) -> int | None:
    """The worker's part: ingest the stored file, or stop at a preview that waits for
    confirmation. Returns the batch id. A job already taken by another worker is skipped."""
    taken = UploadJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not taken:
        return None
    job = UploadJob.objects.select_related("item", "department").get(pk=job_id)
    options = IngestOptions(
        item=job.item,
        department=job.department,
        source=job.source,
        file_name=job.file_name,
        external_id=job.external_id,
        actor=job.created_by,
        progress=_progress_writer(job.pk),
    )
    with audit.audit_context(audit.AuditContext(**job.context)):
        try:
            content = (job_dir() / job.path).read_bytes()
            if job.ask_confirmation and not job.confirmed_by:
                preview = _preview(content, options)
                if preview and preview["updated"] >= CONFIRM_UPDATES:
                    _finish(job, JobStatus.CONFIRM, keep_file=True, preview=preview)
                    return None
            batch = ingest.ingest_file(content, options)
        except DomainError as exc:
            _finish(job, JobStatus.FAILED, error_code=exc.code, error_message=str(exc.message))
            return None
        except Exception:
            logger.exception("upload job %s failed", job.pk)
            _finish(
                job,
                JobStatus.FAILED,
                error_code="job_failed",
                error_message=_("归集任务意外中断，请重新上传；如再次失败请联系平台管理员"),
            )
            raise
    _finish(job, JobStatus.DONE, batch=batch)
    return batch.pk


def _preview(content: bytes, options: IngestOptions) -> dict[str, Any] | None:
    """The preview, or None for a file that ingest refuses as a whole: ingest then records
    that refusal as a failed batch with its code, as for any upload."""
    try:
        return ingest.preview_file(content, options, PREVIEW_SAMPLE)
    except DomainError:
        return None


def _finish(job: UploadJob, status: str, *, keep_file: bool = False, **fields: Any) -> None:
    if "error_message" in fields:
        fields["error_message"] = str(fields["error_message"])[:500]
    finished = None if status == JobStatus.CONFIRM else timezone.now()
    UploadJob.objects.filter(pk=job.pk).update(status=status, finished_at=finished, **fields)
    _progress_path(job.pk).unlink(missing_ok=True)
    if not keep_file:
        (job_dir() / job.path).unlink(missing_ok=True)


def confirm_job(job: UploadJob, user: Any) -> UploadJob:
    """Apply a previewed upload: queue it again, now as confirmed by ``user`` (audited; the
    batch is then recorded as ``user``'s)."""
    with transaction.atomic():
        waiting = UploadJob.objects.filter(pk=job.pk, status=JobStatus.CONFIRM)
        if not waiting.update(
            status=JobStatus.QUEUED,
            confirmed_by=user.get_username(),
            context=dataclasses.asdict(audit.context_for_user(user)),
        ):
            raise _not_waiting()
        job.refresh_from_db()
        audit.record("ingest.job_confirm", obj=job, after=job.preview and _counts(job.preview))
        _enqueue(job)
    return job


def cancel_job(job: UploadJob, user: Any) -> UploadJob:
    """Drop a previewed upload without ingesting it (audited)."""
    with transaction.atomic():
        if not UploadJob.objects.filter(pk=job.pk, status=JobStatus.CONFIRM).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now(), confirmed_by=user.get_username()
        ):
            raise _not_waiting()
        job.refresh_from_db()
        audit.record("ingest.job_cancel", obj=job)
    (job_dir() / job.path).unlink(missing_ok=True)
    return job


def _not_waiting() -> DomainError:
    return DomainError("job_not_waiting", _("该报送任务不在待确认状态"), "job", status=409)


def _counts(preview: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in preview.items() if k != "sample"}


# -- progress: a small file beside the upload, because the ingest's own writes stay invisible
# to pollers until its one transaction commits (and SQLite has a single writer).
def _progress_path(job_id: int) -> Path:
    return job_dir() / f"{job_id}.progress.json"


def _progress_writer(job_id: int) -> Progress:
    last = [0.0]

    def write(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and done < total:
            return
        last[0] = now
        path = _progress_path(job_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stage": stage, "done": done, "total": total}))
        os.replace(tmp, path)

    return write


STAGES = {
    "validate": _("校验"),
    "subjects": _("识别主体"),
    "compare": _("比对已有记录"),
    "write": _("写入"),
}


def progress(job: UploadJob) -> dict[str, Any]:
    """The running job's stage and percentage (``{}`` when it is not running)."""
    if job.status != JobStatus.RUNNING:
        return {}
    try:
        data = json.loads(_progress_path(job.pk).read_text())
    except (OSError, ValueError):
        return {"stage": "", "stage_label": _("准备中"), "done": 0, "total": 0, "percent": 0}
    total = max(int(data.get("total") or 0), 1)
    done = min(int(data.get("done") or 0), total)
    return {
        **data,
        "stage_label": STAGES.get(data.get("stage", ""), data.get("stage", "")),
        "percent": round(100 * done / total),
    }
