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


def valid_uscc(n: int, prefix: str = "91310115") -> str:
    """The ``n``-th valid unified social credit code (GB 32100-2015) of a Pudong enterprise:
    organisation code with its GB 11714 check character, then the code's own check."""
    from creditplus.identifiers import _org_check_char, uscc_check_char

    org8 = f"{n:08d}"
    first17 = f"{prefix}{org8}{_org_check_char(org8)}"
    return first17 + uscc_check_char(first17)


def make_organisations(count: int, start: int = 1000, **fields: Any) -> list:
    """``count`` registered enterprises (kind legal) with valid codes, created in bulk."""
    from creditplus.subjects.models import Subject

    return Subject.objects.bulk_create(
        Subject(
            kind="legal",
            uscc=valid_uscc(start + i),
            name=f"上海浦东测试{start + i}有限公司",
            legal_rep_name="张三",
            status="存续",
            registered=True,
            **fields,
        )
        for i in range(count)
    )
