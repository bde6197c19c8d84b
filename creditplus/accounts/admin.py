from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from creditplus.accounts import audit
from creditplus.accounts.models import ApiToken, AuditEvent, Department, User

admin.site.site_header = _("信用+ 系统管理")
admin.site.site_title = _("信用+ 系统管理")
admin.site.index_title = _("参考数据与账号")


class AuditedModelAdmin(admin.ModelAdmin):
    """Admin edits are domain writes too: each save and delete writes one audit row."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        label = obj._meta.label_lower
        before = None
        if change:
            before = model_to_dict(type(obj).objects.get(pk=obj.pk))
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                f"{label}.{'update' if change else 'create'}",
                obj=obj,
                purpose="系统管理后台",
                before=before,
                after=model_to_dict(obj),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.record(
                f"{obj._meta.label_lower}.delete",
                obj=obj,
                purpose="系统管理后台",
                before=model_to_dict(obj),
            )
            super().delete_model(request, obj)


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "full_name", "uscc", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "full_name", "uscc"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "department", "is_system", "is_active"]
    list_filter = ["groups", "department", "is_system", "is_active"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("部门与账号类型"), {"fields": ("department", "is_system")}),
    )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                f"user.{'update' if change else 'create'}",
                obj=obj,
                purpose="系统管理后台",
                after={"department": obj.department_id, "is_active": obj.is_active},
            )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "department",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["department"]
    readonly_fields = [
        "user",
        "department",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued by `creditplus issue_token` or the token page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "actor_name",
        "department",
        "action",
        "object_repr",
        "subject",
    ]
    list_filter = ["action", "department"]
    search_fields = ["subject", "object_id", "request_id", "actor_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
