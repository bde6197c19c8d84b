"""The background worker in tests: django-tasks-db's own worker running the ready tasks."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_worker() -> None:
    """Run every ready task with django-tasks-db's worker, as `creditplus db_worker --batch`
    does. Its polling loop closes the connection (and with it this test's transaction),
    so the loop itself runs as a real process in test_jobs_e2e.py."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    while (result := DBTaskResult.objects.ready().order_by("enqueued_at").first()) is not None:
        result.claim(worker.worker_id)
        worker.run_task(result)
        result.refresh_from_db()
        assert result.status == "SUCCESSFUL", result.traceback
