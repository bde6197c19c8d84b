from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditplus.accounts.choices import (
    DEPARTMENT_ROLES,
    GOVERNMENT_ROLES,
    PLATFORM_ROLES,
    DepartmentKind,
    Role,
)
from creditplus.identifiers import check_uscc


def validate_uscc(value: str) -> None:
    """Reject a unified social credit code whose check character does not match (the
    project's one USCC rule, :func:`creditplus.identifiers.check_uscc`)."""
    result = check_uscc(str(value))
    if not result.ok:
        raise ValidationError(
            _("统一社会信用代码校验失败：%(value)s（%(reason)s）"),
            params={"value": value, "reason": result.message},
        )


class Department(models.Model):
    """A district department: data provider (数据来源单位) and measure implementer."""

    code = models.CharField(_("部门编码"), max_length=16, unique=True)
    name = models.CharField(_("部门名称"), max_length=64, unique=True)
    full_name = models.CharField(_("全称"), max_length=128, blank=True)
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    kind = models.CharField(
        _("类别"), max_length=16, choices=DepartmentKind.choices, default=DepartmentKind.GOVERNMENT
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A platform user. Roles are groups; department roles act for ``department`` only."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("所属部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    is_system = models.BooleanField(
        _("系统账号"), default=False, help_text=_("部门业务系统的接口账号，不能登录页面。")
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @property
    def roles(self) -> frozenset[str]:
        """Role codes of this user (cached per instance)."""
        if not self.is_authenticated or not self.is_active:
            return frozenset()
        if not hasattr(self, "_roles"):
            names = {g.name for g in self.groups.all()}
            if self.is_superuser:
                names.add(Role.PLATFORM_ADMIN)
            self._roles = frozenset(names & set(Role.values))
        return self._roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_platform_wide(self) -> bool:
        """Sees every department's government data (credit office, administrators)."""
        return bool(self.roles & PLATFORM_ROLES)

    @property
    def is_government(self) -> bool:
        return bool(self.roles & GOVERNMENT_ROLES)

    @property
    def is_department_scoped(self) -> bool:
        return not self.is_platform_wide and bool(self.roles & DEPARTMENT_ROLES)

    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in Role.values if r in self.roles]


class ApiToken(models.Model):
    """A bearer token of a department system (or a bank); only its hash is stored."""

    PREFIX = "cp_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.PROTECT,
        related_name="api_tokens",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_tokens",
    )
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        # Tokens carry 256 random bits, so a fast hash is enough (no brute force possible).
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("审计日志只能追加，不能修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志只能追加，不能删除")


GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One audited write or non-public read; append-only and HMAC-chained to its predecessor.

    ``hash`` = HMAC(AUDIT_KEY, prev_hash + canonical content), so altering, inserting or
    deleting a row breaks the chain at that row, and forging a row needs the key.
    """

    created_at = models.DateTimeField(_("时间"), db_index=True)
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True)
    actor_name = models.CharField(_("操作人"), max_length=150)
    department = models.CharField(_("部门"), max_length=16, blank=True, db_index=True)
    token = models.CharField(_("接口令牌"), max_length=64, blank=True)
    request_id = models.CharField(_("请求ID"), max_length=64, blank=True)
    ip = models.CharField(_("来源地址"), max_length=45, blank=True)
    action = models.CharField(_("动作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    subject = models.CharField(_("信用主体"), max_length=64, blank=True, db_index=True)
    purpose = models.CharField(_("事由"), max_length=500, blank=True)
    before = models.JSONField(_("变更前"), null=True, blank=True)
    after = models.JSONField(_("变更后"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    HASHED_FIELDS = (
        "created_at",
        "actor_id",
        "actor_name",
        "department",
        "token",
        "request_id",
        "ip",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "subject",
        "purpose",
        "before",
        "after",
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("审计日志只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("审计日志只能追加，不能删除")

    def content(self) -> str:
        """Canonical JSON of the hashed fields (stable across SQLite and PostgreSQL)."""
        return self.canonical({name: getattr(self, name) for name in self.HASHED_FIELDS})

    def compute_hash(self) -> str:
        return self.chain_hash(self.prev_hash, self.content())

    @classmethod
    def canonical(cls, values: dict[str, Any]) -> str:
        """Canonical JSON of the hashed fields in ``values`` (field name → value as read back
        from the database); the audit log's fast append paths hash rows without instances."""
        data = {name: values[name] for name in cls.HASHED_FIELDS}
        data["created_at"] = data["created_at"].astimezone(UTC).isoformat(timespec="microseconds")
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def canonical_many(cls, rows: Sequence[dict[str, Any]]) -> list[str]:
        """:meth:`canonical` of each row — the same text (JSON with sorted keys and these
        separators is exactly ``{"key":value,…}`` in key order), built from a template: a
        field whose value is one object in every row (the actor, the action, the time of a
        bulk append) is encoded once into it, and each distinct value of the others once."""
        if not rows:
            return []
        encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode

        def encoded_value(name: str, value: Any) -> str:
            if name == "created_at":
                value = value.astimezone(UTC).isoformat(timespec="microseconds")
            return encode(value)

        parts, varying = [], []
        for name in sorted(cls.HASHED_FIELDS):
            value = rows[0][name]
            if all(row[name] is value for row in rows):
                text = f"{encode(name)}:{encoded_value(name, value)}"
                parts.append(text.replace("{", "{{").replace("}", "}}"))
            else:
                parts.append(f"{encode(name)}:{{}}")
                varying.append(name)
        fill = ("{{" + ",".join(parts) + "}}").format
        # (field, id(value)) → its JSON; the rows keep their values alive meanwhile
        done: dict[tuple[str, int], str] = {}
        out = []
        for row in rows:
            texts = []
            for name in varying:
                value = row[name]
                text = done.get((name, id(value)))
                if text is None:
                    text = done[(name, id(value))] = encoded_value(name, value)
                texts.append(text)
            out.append(fill(*texts))
        return out

    @staticmethod
    def chain_hash(prev_hash: str, content: str, key: bytes | None = None) -> str:
        """The row's HMAC over the previous row's hash and its content; ``key``: the audit
        key as bytes, for a bulk append that hashes many rows."""
        key = settings.AUDIT_KEY.encode() if key is None else key
        return hmac.digest(key, (prev_hash + content).encode(), "sha256").hex()


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> NotificationQuerySet:
        """Messages addressed to ``user``, to their department, or to one of their roles."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        q = models.Q(user=user) | models.Q(role__in=list(user.roles), department__isnull=True)
        if user.department_id:
            q |= models.Q(department=user.department_id, user__isnull=True)
        return self.filter(q)


class Notification(models.Model):
    """An in-platform message (站内通知) to a user, a department, or everyone in a role —
    e.g. a list notice to a subject's account or an escalation to the credit office."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("接收部门"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    role = models.CharField(_("接收角色"), max_length=32, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")

    def __str__(self) -> str:
        return self.title


class JobRun(models.Model):
    """One run of a scheduled command (定时任务): when, how long, what it did, and whether it
    failed, so that the health report can tell a job that has stopped from one that runs."""

    name = models.CharField(_("任务"), max_length=64)
    started_at = models.DateTimeField(_("开始时间"))
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    ok = models.BooleanField(_("成功"), default=False)
    summary = models.CharField(_("结果"), max_length=500, blank=True)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    # Figures a later run compares with (e.g. the database size for its growth).
    figures = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("定时任务运行记录")
        verbose_name_plural = _("定时任务运行记录")
        indexes = [models.Index(fields=["name", "ok", "started_at"], name="jobrun_name_ok_started")]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M}"
