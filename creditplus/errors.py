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

    @property
    def for_user(self) -> str:
        """What a page says: the Chinese sentence first, the code after it for support."""
        return with_code(self.message, self.code)

    def as_dict(self) -> dict[str, str | None]:
        """The API's error body."""
        return {"code": self.code, "message": str(self.message), "field": self.field}


def with_code(message: str, code: str) -> str:
    """``message`` followed by its stable code (for support), never led by the code."""
    return str(_("%(message)s（错误代码：%(code)s）") % {"message": message, "code": code})


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
