"""Background tasks of collection, run by the django-tasks worker (``creditplus db_worker``)."""

from __future__ import annotations

from django_tasks import task

from creditplus.records import jobs


@task()
def ingest_upload(job_id: int) -> int | None:
    """Ingest an uploaded file (see ``records.jobs``); returns the batch id."""
    return jobs.run_job(job_id)
