from django.contrib import admin

from creditplus.accounts.admin import AuditedModelAdmin
from creditplus.lists.models import Deadline, ListType


@admin.register(ListType)
class ListTypeAdmin(AuditedModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "origin",
        "deciding_department",
        "published",
        "default_months",
        "min_months",
        "is_active",
        "source_version",
    ]
    list_filter = ["kind", "origin", "published", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Deadline)
class DeadlineAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "working_days", "source_version"]
