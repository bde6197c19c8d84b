"""Plain factories for tests: small functions that make valid objects with defaults."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import Group

from creditplus.accounts.models import Department, User

_seq = itertools.count(1)


def make_user(
    role: str | None = None, department: str | Department | None = None, **fields: Any
) -> User:
    """A user holding ``role`` (a Role value), optionally in ``department`` (code or object)."""
    if isinstance(department, str):
        department = Department.objects.get(code=department)
    username = fields.pop("username", f"user{next(_seq)}")
    user = User.objects.create_user(
        username=username, password="pw-Secret-123", department=department, **fields
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user
