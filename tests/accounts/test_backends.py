"""Token authentication loads a user's permissions in one statement; the permission backend
answers from them through ModelBackend's public methods. These tests pin its answers to
ModelBackend's own, for every role, so that a Django upgrade cannot change them silently."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creditplus.accounts import services
from creditplus.accounts.choices import Role
from creditplus.accounts.models import User
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def all_permissions() -> list[str]:
    return [
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    ]


def token_user(user: User) -> User:
    issued = services.issue_token(user.department or "SCJG", f"t-{user.username}", user=user)
    token = services.authenticate_token(issued.key)
    assert token is not None
    return token.user


def assert_same_answers(user: User) -> None:
    loaded = token_user(user)
    fresh = User.objects.get(pk=user.pk)
    reference = ModelBackend()
    # No statement after authentication: the answers come from the loaded permissions.
    with CaptureQueriesContext(connection) as queries:
        answers = (
            loaded.get_user_permissions(),
            loaded.get_group_permissions(),
            loaded.get_all_permissions(),
            {perm for perm in all_permissions_cached if loaded.has_perm(perm)},
            {app for app in apps_cached if loaded.has_module_perms(app)},
        )
    assert len(queries) == 0 or loaded.is_superuser
    expected = (
        reference.get_user_permissions(fresh),
        reference.get_group_permissions(fresh),
        reference.get_all_permissions(fresh),
        {perm for perm in all_permissions_cached if fresh.has_perm(perm)},
        {app for app in apps_cached if fresh.has_module_perms(app)},
    )
    assert answers == expected


all_permissions_cached: list[str] = []
apps_cached: set[str] = set()


@pytest.fixture(autouse=True)
def permission_names(reference):
    all_permissions_cached[:] = all_permissions()
    apps_cached.clear()
    apps_cached.update(p.split(".")[0] for p in all_permissions_cached)


@pytest.mark.parametrize("role", list(Role))
def test_a_token_user_of_every_role_has_exactly_modelbackends_permissions(role):
    department = "SCJG" if role in (Role.DEPT_OFFICER, Role.INSPECTOR) else None
    user = make_user(role, department=department)
    assert user.get_all_permissions() or role == Role.ENTERPRISE
    assert_same_answers(user)


def test_direct_user_permissions_and_several_roles_add_up_like_modelbackend(reference):
    user = make_user(Role.WINDOW_CLERK, department="SCJG")
    user.groups.add(Group.objects.get(name=Role.INSPECTOR))
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    assert_same_answers(user)


def test_a_superuser_token_has_every_permission_like_modelbackend(reference):
    user = make_user(department="SCJG", is_superuser=True)
    assert_same_answers(user)


def test_a_revoked_permission_applies_to_the_next_token_call(reference):
    user = make_user(Role.ENTERPRISE, department="SCJG")
    extra = Permission.objects.get(codename="view_auditevent")
    user.user_permissions.add(extra)
    issued = services.issue_token("SCJG", "系统", user=user)
    assert services.authenticate_token(issued.key).user.has_perm("accounts.view_auditevent")
    user.user_permissions.remove(extra)
    assert not services.authenticate_token(issued.key).user.has_perm("accounts.view_auditevent")


def test_a_permission_created_after_the_names_were_read_is_known_to_the_next_call(reference):
    user = make_user(Role.ENTERPRISE, department="SCJG")
    issued = services.issue_token("SCJG", "系统", user=user)
    services.authenticate_token(issued.key)  # the names are read, without the new one
    new = Permission.objects.create(
        codename="export_bench", name="export", content_type=Permission.objects.first().content_type
    )
    user.user_permissions.add(new)
    label = f"{new.content_type.app_label}.export_bench"
    try:
        assert label in services.authenticate_token(issued.key).user.get_user_permissions()
        assert_same_answers(user)
    finally:
        services.forget_permission_names()  # the permission goes with the test's transaction


def test_the_names_are_read_again_after_a_flush_or_migrate(reference):
    user = make_user(Role.DEPT_OFFICER, department="SCJG")
    issued = services.issue_token("SCJG", "系统", user=user)
    services.authenticate_token(issued.key)
    assert services._permission_names
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # sends post_migrate, as flush does
    assert services._permission_names == {}
    assert services.authenticate_token(issued.key).user.has_perm("sanctions.add_creditcheck")
