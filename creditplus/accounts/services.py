"""Departments, roles, API tokens and demo accounts."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from creditplus.accounts import audit
from creditplus.accounts.backends import LoadedPermissions
from creditplus.accounts.choices import Role
from creditplus.accounts.models import ApiToken, Department, Notification, User, validate_uscc
from creditplus.bulk import hot_cursor, loaded
from creditplus.errors import DomainError, NotFound

REFERENCE_DIR = settings.BASE_DIR / "reference_data"


def read_reference(name: str) -> dict[str, Any]:
    """Read one versioned reference-data file from ``creditplus/reference_data``."""
    path = Path(REFERENCE_DIR) / name
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or "version" not in data:
        raise DomainError("reference_invalid", f"参考数据文件 {name} 缺少 version 字段")
    return data


def snapshot(obj: Model, fields: list[str]) -> dict[str, Any]:
    """The audited view of ``obj``: the named fields as JSON-friendly values."""
    return {f: getattr(obj, f) for f in fields}


DEPARTMENT_FIELDS = ["code", "name", "full_name", "uscc", "kind", "sort_order", "is_active"]


@transaction.atomic
def load_departments() -> str:
    """Create or update the departments of ``departments.yaml`` (idempotent, audited)."""
    rows = read_reference("departments.yaml")["departments"]
    created = updated = 0
    for order, row in enumerate(rows, start=1):
        row["uscc"] = str(row["uscc"])
        validate_uscc(row["uscc"])
        wanted = {
            "name": row["name"],
            "full_name": row.get("full_name", ""),
            "uscc": row["uscc"],
            "kind": row.get("kind", "government"),
            "sort_order": order,
            "is_active": row.get("active", True),
        }
        dept = Department.objects.select_for_update().filter(code=row["code"]).first()
        if dept is None:
            dept = Department.objects.create(code=row["code"], **wanted)
            audit.record("department.create", obj=dept, after=snapshot(dept, DEPARTMENT_FIELDS))
            created += 1
            continue
        before = snapshot(dept, DEPARTMENT_FIELDS)
        changed = {k: v for k, v in wanted.items() if getattr(dept, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(dept, key, value)
            dept.full_clean()
            dept.save(update_fields=list(changed))
            audit.record(
                "department.update",
                obj=dept,
                before=before,
                after=snapshot(dept, DEPARTMENT_FIELDS),
            )
            updated += 1
    return f"部门：{len(rows)} 个（新增 {created}，更新 {updated}）"


@transaction.atomic
def load_roles() -> str:
    """Create the role groups of ``roles.yaml`` and set exactly their permissions."""
    spec = read_reference("roles.yaml")["roles"]
    unknown = set(spec) - set(Role.values)
    if unknown:
        raise DomainError("reference_invalid", f"roles.yaml 中有未知角色：{sorted(unknown)}")
    changed = 0
    for code in Role.values:
        entry = spec.get(code) or {}
        group, _ = Group.objects.get_or_create(name=code)
        if entry.get("all_permissions"):
            wanted = set(Permission.objects.values_list("pk", flat=True))
        else:
            wanted = set()
            for label in entry.get("permissions", []):
                app_label, codename = label.split(".", 1)
                perm = Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).first()
                if perm is None:
                    raise DomainError("reference_invalid", f"roles.yaml：权限 {label} 不存在")
                wanted.add(perm.pk)
        current = set(group.permissions.values_list("pk", flat=True))
        if current != wanted:
            group.permissions.set(wanted)
            audit.record(
                "role.permissions",
                obj=group,
                before=sorted(current),
                after=sorted(wanted),
            )
            changed += 1
    return f"角色：{len(Role.values)} 个（权限变更 {changed}）"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``key`` is shown once and never stored."""

    token: ApiToken
    key: str


def _system_username(department: Department, name: str) -> str:
    return f"sys.{department.code}.{'_'.join(name.split())}"[:150]


@transaction.atomic
def issue_token(department: Department | str, name: str, user: User | None = None) -> IssuedToken:
    """Create an API token for a department system (or for ``user``) and return it once.

    Without ``user`` the token belongs to the department's system account for ``name``
    (created as a department officer that cannot sign in to pages).
    """
    if isinstance(department, str):
        department = get_department(department)
    name = name.strip()
    if not name or len(name) > 64:
        raise DomainError("token_name_invalid", _("令牌名称不能为空且不超过64个字符"), "name")
    if user is None:
        user, created = User.objects.get_or_create(
            username=_system_username(department, name),
            defaults={"department": department, "is_system": True},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get_or_create(name=Role.DEPT_OFFICER)[0])
    key = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        department=department,
        name=name,
        prefix=key[:10],
        key_hash=ApiToken.hash_key(key),
    )
    audit.record("token.issue", obj=token, after={"name": name, "department": department.code})
    return IssuedToken(token, key)


@functools.cache
def _token_sql() -> str:
    """The token, its user and department, and the ids of the user's permissions (own and by
    group, each comma-joined): one row, one statement. Ids rather than names: joining the
    permission and content type tables for the names was half the statement's cost."""
    q = connection.ops.quote_name
    user_perms = User._meta.get_field("user_permissions")
    user_groups = User._meta.get_field("groups")
    group_perms = Group._meta.get_field("permissions")

    def joined(column: str) -> str:
        if connection.vendor == "postgresql":
            return f"string_agg({column}::text, ',')"
        return f"group_concat({column}, ',')"

    return f"""
        SELECT t.id, t.name, t.prefix, t.department_id,
               CASE WHEN t.last_used_at IS NULL OR t.last_used_at < %s THEN 1 ELSE 0 END,
               u.id, u.username, u.is_superuser, u.is_staff, u.is_system, u.department_id,
               d.code, d.name, d.full_name, d.uscc, d.kind, d.sort_order, d.is_active,
               (SELECT {joined("up." + q(user_perms.m2m_reverse_name()))}
                FROM {q(user_perms.m2m_db_table())} up
                WHERE up.{q(user_perms.m2m_column_name())} = u.id),
               (SELECT {joined("gp." + q(group_perms.m2m_reverse_name()))}
                FROM {q(group_perms.m2m_db_table())} gp
                JOIN {q(user_groups.m2m_db_table())} ug
                  ON ug.{q(user_groups.m2m_reverse_name())} = gp.{q(group_perms.m2m_column_name())}
                WHERE ug.{q(user_groups.m2m_column_name())} = u.id)
        FROM {q(ApiToken._meta.db_table)} t
        JOIN {q(User._meta.db_table)} u ON u.id = t.user_id
        LEFT JOIN {q(Department._meta.db_table)} d ON d.id = u.department_id
        WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active"""


# Permission id → "app_label.codename". Permissions are rows that migrations create and
# nothing renames, so their names are read once per process (again when an id is new to it,
# and after migrate or flush in this process); who holds which permission is read on every
# call. Web and worker processes restart after an upgrade's migrate (docs/deploy.md).
_permission_names: dict[int, str] = {}


def _permissions(ids: str | None) -> frozenset[str]:
    """The names of comma-joined permission ids (an id no longer in the table: none)."""
    global _permission_names
    if not ids:
        return frozenset()
    keys = [int(i) for i in ids.split(",")]
    names = _permission_names
    if any(k not in names for k in keys):
        names = _permission_names = {
            pk: f"{app}.{codename}"
            for pk, app, codename in Permission.objects.values_list(
                "pk", "content_type__app_label", "codename"
            )
        }
    return frozenset(names[k] for k in keys if k in names)


def forget_permission_names(**_signal: Any) -> None:
    """After migrate or flush: read the names again on next use."""
    global _permission_names
    _permission_names = {}


def authenticate_token(key: str) -> ApiToken | None:
    """Return the active token for ``key`` — with its user, the user's department and the
    user's permissions loaded — and mark it used; or None.

    Every API call runs this, so it reads with one plain statement (token, user, department
    and permissions) instead of four ORM queries, and caches nothing: a revoked token, a
    deactivated user or a changed permission takes effect on the very next call."""
    if not key.startswith(ApiToken.PREFIX):
        return None
    now = timezone.now()
    stale_before = connection.ops.adapt_datetimefield_value(now - timedelta(seconds=60))
    with hot_cursor() as cursor:
        cursor.execute(_token_sql(), [stale_before, ApiToken.hash_key(key)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, name, prefix, token_dept_id, stale, user_id, username, *rest = row
    is_superuser, is_staff, is_system, dept_id, *dept, own, by_group = rest
    user = loaded(
        User,
        id=user_id,
        username=username,
        is_superuser=bool(is_superuser),
        is_staff=bool(is_staff),
        is_active=True,
        is_system=bool(is_system),
        department_id=dept_id,
    )
    if dept_id is not None:
        code, dept_name, full_name, uscc, kind, sort_order, active = dept
        user.department = loaded(
            Department,
            id=dept_id,
            code=code,
            name=dept_name,
            full_name=full_name,
            uscc=uscc,
            kind=kind,
            sort_order=sort_order,
            is_active=bool(active),
        )
    # Read by accounts.backends.PermissionBackend through ModelBackend's public methods.
    user.loaded_permissions = LoadedPermissions(_permissions(own), _permissions(by_group))
    token = loaded(
        ApiToken,
        id=token_id,
        user_id=user_id,
        department_id=token_dept_id,
        name=name,
        prefix=prefix,
        revoked_at=None,
    )
    token.user = user
    # Write at most once a minute: a busy system calls many times per second.
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return token


@transaction.atomic
def revoke_token(token: ApiToken) -> ApiToken:
    """Revoke ``token`` (idempotent: revoking twice keeps the first time)."""
    # Lock the row so that a concurrent revoke does not write a second audit event.
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("token.revoke", obj=token, after={"revoked_at": token.revoked_at})
    return token


def get_department(code_or_uscc: str) -> Department:
    """Find a department by its code or its unified social credit code."""
    value = code_or_uscc.strip().upper()
    dept = (
        Department.objects.filter(code=value).first()
        or Department.objects.filter(uscc=value).first()
    )
    if dept is None:
        raise NotFound(_("部门不存在：%(dept)s") % {"dept": code_or_uscc}, "department")
    return dept


# (username, role, department, display name, what to try with it: printed by demo_accounts).
DEMO_ACCOUNTS: list[tuple[str, str, str | None, str, str]] = [
    ("admin", Role.PLATFORM_ADMIN, None, "平台管理员", "/admin/：参考数据、账号与权限"),
    (
        "xinyongban",
        Role.CREDIT_OFFICE,
        None,
        "区信用办 王科员",
        "/backoffice/：驾驶舱、名单认定、联合奖惩统计",
    ),
    (
        "scjg",
        Role.DEPT_OFFICER,
        "SCJG",
        "区市场监管局 信用联络员",
        "上传归集文件、提议列入名单、答复异议",
    ),
    ("shuiwu", Role.DEPT_OFFICER, "SW", "区税务局 信用联络员", "本部门的数据、任务与反馈"),
    ("huanjing", Role.DEPT_OFFICER, "STHJ", "区生态环境局 信用联络员", "本部门的数据、任务与反馈"),
    ("chuangkou", Role.WINDOW_CLERK, None, "信用查询窗口 受理员", "出具信用报告、绑定企业账号"),
    ("jiancha", Role.INSPECTOR, "SCJG", "区市场监管局 执法人员", "双随机抽查：录入检查结果"),
    (
        "jiancha2",
        Role.INSPECTOR,
        "SCJG",
        "区市场监管局 执法人员（二）",
        "双随机抽查的第二名执法人员",
    ),
    (
        "jiancha3",
        Role.INSPECTOR,
        "SCJG",
        "区市场监管局 执法人员（三）",
        "双随机抽查的第三名执法人员",
    ),
    ("yinhang", Role.FINANCIAL, None, "合作银行 信贷审批员", "信用张江：经授权查看企业信用报告"),
    ("pinggu", Role.ASSESSOR, None, "第三方评估机构", "政务诚信：录入第三方评估得分"),
    # Bound to a subject by lists_demo (as a window clerk would after checking the licence).
    (
        "qiye",
        Role.ENTERPRISE,
        None,
        "企业演示账号",
        "/my/：我的信用、告知与异议、信用修复、信用报告",
    ),
]


@transaction.atomic
def create_demo_accounts(password: str) -> list[tuple[str, str, str]]:
    """Create one demo user per role (development only); returns (username, role label,
    what to try)."""
    if settings.PRODUCTION:
        raise DomainError("demo_in_production", _("生产环境不能创建演示账号"))
    result = []
    for username, role, dept_code, display, try_ in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(username=username)
        user.first_name = display
        user.department = Department.objects.get(code=dept_code) if dept_code else None
        user.is_staff = role == Role.PLATFORM_ADMIN
        user.is_superuser = role == Role.PLATFORM_ADMIN
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        if created:
            audit.record("user.create", obj=user, after={"role": role, "department": dept_code})
        result.append((username, str(Role(role).label), try_))
    return result


def notify(
    title: str,
    body: str = "",
    url: str = "",
    *,
    user: User | None = None,
    department: Department | None = None,
    role: str = "",
) -> Notification:
    """Leave an in-platform message for one user, a whole department, or a role."""
    if not (user or department or role):
        raise ValueError("a notification needs a recipient")
    return Notification.objects.create(
        user=user, department=department, role=role, title=title[:200], body=body, url=url
    )
