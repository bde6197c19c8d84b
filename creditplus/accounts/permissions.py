"""Role and department scope, decided in one place for pages and API routes alike.

Two questions, always in this order: may this user perform the action at all (a Django
permission held through a role group — else 403), and is the object inside the user's scope
(department roles see only their own department's rows — else 404, so that we never confirm
that another department's object exists).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from creditplus.accounts.choices import Role
from creditplus.errors import Forbidden, NotFound, as_page

M = TypeVar("M", bound=Model)
View = Callable[..., HttpResponse]


def require_perm(user: Any, perm: str) -> None:
    """Raise :class:`Forbidden` unless ``user`` is active and holds ``perm``."""
    if not (getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(perm)):
        raise Forbidden()


def require_role(user: Any, *roles: str) -> None:
    """Raise :class:`Forbidden` unless ``user`` holds one of ``roles``."""
    if not (getattr(user, "is_authenticated", False) and user.has_role(*roles)):
        raise Forbidden()


def restrict(qs: QuerySet[M], user: Any, field: str = "department") -> QuerySet[M]:
    """Limit ``qs`` to what ``user`` may see: everything for the credit office and
    administrators, the own department's rows for department roles, nothing otherwise."""
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_platform_wide:
        return qs
    if user.is_department_scoped and user.department_id:
        return qs.filter(**{field: user.department_id})
    return qs.none()


def get_for_user(qs: QuerySet[M], user: Any, field: str = "department", **lookup: Any) -> M:
    """Fetch one object within ``user``'s scope, or raise :class:`NotFound`."""
    try:
        return restrict(qs, user, field).get(**lookup)
    except qs.model.DoesNotExist:
        raise NotFound() from None


def acts_for(user: Any, perm: str, obj: Any) -> bool:
    """Whether ``user`` may act on ``obj`` for its department: holds ``perm`` and belongs to
    the department that owns ``obj``. (The credit office sees every department's objects,
    but a department changes only what it owns.)"""
    return bool(
        user.has_perm(perm) and user.department_id and user.department_id == obj.department_id
    )


def backoffice_view(perm: str | None = None) -> Callable[[View], View]:
    """Decorator for back-office pages: anonymous users are sent to the login page, system
    (API) accounts and users without ``perm`` get 403, and a :class:`NotFound` or
    :class:`Forbidden` raised inside the view becomes a 404 or a 403 page saying why."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # Enterprise users act in the portal; the back office is for staff roles.
            if user.is_system or not (user.roles - {Role.ENTERPRISE}):
                raise PermissionDenied
            if perm and not user.has_perm(perm):
                raise PermissionDenied
            return as_page(request, lambda: view(request, *args, **kwargs))

        return wrapped

    return decorator
