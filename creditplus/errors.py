"""The one error shape of creditplus: a stable code, a Chinese message, and the field.

Services raise :class:`DomainError`; the API turns it into
``{"code": ..., "message": ..., "field": ...}`` and pages show the message.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal a user can act on: stable ``code``, human ``message``, optional ``field``."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status:
            self.status = status

    def as_dict(self) -> dict[str, str | None]:
        """The API's error body."""
        return {"code": self.code, "message": str(self.message), "field": self.field}


class NotFound(DomainError):
    """The object does not exist or lies outside the caller's scope (never say which)."""

    status = 404

    def __init__(self, message: str | None = None, field: str | None = None):
        super().__init__("not_found", message or _("对象不存在或无权访问"), field)


class Forbidden(DomainError):
    """The caller is known but its role does not allow the action."""

    status = 403

    def __init__(self, message: str | None = None, field: str | None = None):
        super().__init__("forbidden", message or _("当前角色无权执行此操作"), field)
