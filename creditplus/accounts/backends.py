"""The authentication backend: Django's ModelBackend, which also answers from permissions
that API token authentication loaded with the token (one statement per call, see
:func:`creditplus.accounts.services.authenticate_token`).

It overrides only ModelBackend's public methods, never its private caches, so that a Django
upgrade that changes those caches cannot make a token's permissions wrong silently;
``tests/accounts/test_backends.py`` compares its answers with ModelBackend's for every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import ModelBackend


@dataclass(frozen=True)
class LoadedPermissions:
    """A user's permissions as ``app_label.codename``: given directly, and through groups."""

    user: frozenset[str]
    group: frozenset[str]


def _loaded(user_obj: Any, obj: Any) -> LoadedPermissions | None:
    loaded = getattr(user_obj, "loaded_permissions", None)
    # ModelBackend's own rules first: inactive or anonymous users and object permissions get
    # nothing, and a superuser has every permission (ModelBackend reads them).
    if loaded is None or obj is not None or user_obj.is_superuser:
        return None
    if not user_obj.is_active or user_obj.is_anonymous:
        return LoadedPermissions(frozenset(), frozenset())
    return loaded


class PermissionBackend(ModelBackend):
    """ModelBackend, answering from ``user.loaded_permissions`` when it is set."""

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        loaded = _loaded(user_obj, obj)
        if loaded is None:
            return super().get_user_permissions(user_obj, obj)
        return set(loaded.user)

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        loaded = _loaded(user_obj, obj)
        if loaded is None:
            return super().get_group_permissions(user_obj, obj)
        return set(loaded.group)

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        loaded = _loaded(user_obj, obj)
        if loaded is None:
            return super().get_all_permissions(user_obj, obj)
        return set(loaded.user | loaded.group)
