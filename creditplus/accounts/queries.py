"""Named, scoped queries shared by this app's pages and API routes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from creditplus.accounts.models import AuditEvent


def audit_events_for(
    user: Any, *, action: str | None = None, subject: str | None = None
) -> QuerySet[AuditEvent]:
    """Audit events ``user`` may read: all for the credit office, the own department's
    events for a department officer, none for anyone else; newest first."""
    qs = AuditEvent.objects.order_by("-id")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if not user.is_platform_wide:
        if not (user.is_department_scoped and user.department_id):
            return qs.none()
        qs = qs.filter(department=user.department.code)
    if action:
        qs = qs.filter(action__startswith=action)
    if subject:
        qs = qs.filter(subject=subject)
    return qs
