"""The one error shape of creditplus: a stable code, a Chinese message, and the field.

Services raise :class:`DomainError`; the API turns it into
``{"code": ..., "message": ..., "field": ...}`` and pages show it: on the form that caused it
(:func:`show_on_form`, :func:`refusals_on`), or as a 404 / 403 page (:func:`as_page`). These
page helpers live here, in the lowest layer, so that ``accounts`` and every app share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django import forms


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


#: The back office's 403 page that says why (``{{ message }}``).
REFUSED_TEMPLATE = "forbidden.html"


def show_on_form(form: forms.Form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Attach a service refusal to ``form``: to the field it names (``aliases`` maps a
    service's field name to the form's), else on top; the message leads, then the stable
    code, so that staff can quote it."""
    field = (aliases or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.for_user)


@contextmanager
def refusals_on(form: forms.Form, aliases: dict[str, str] | None = None) -> Iterator[None]:
    """Run a posted form's service call: a refusal the user can act on is shown on ``form``
    and the block is left, so the view renders the form again. :class:`NotFound` and
    :class:`Forbidden` propagate to the page decorator (:func:`as_page`)."""
    try:
        yield
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:
        show_on_form(form, exc, aliases)


def as_page(
    request: HttpRequest,
    view: Callable[[], HttpResponse],
    refused_template: str | None = REFUSED_TEMPLATE,
) -> HttpResponse:
    """Run a page's view: :class:`NotFound` becomes a 404; :class:`Forbidden` a 403 page
    saying why (``refused_template``), or Django's plain 403 when it is ``None``."""
    try:
        return view()
    except NotFound as exc:
        raise Http404(str(exc.message)) from None
    except Forbidden as exc:
        if refused_template is None:
            raise PermissionDenied from None
        return render(request, refused_template, {"message": exc.message}, status=403)
