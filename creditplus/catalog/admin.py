from django.contrib import admin

from creditplus.accounts.admin import AuditedModelAdmin
from creditplus.catalog.models import BehaviorRule, CalendarDay, CatalogItem, CodeTable, Matter


@admin.register(CatalogItem)
class CatalogItemAdmin(AuditedModelAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "disclosure",
        "all_departments",
        "is_active",
        "source_version",
    ]
    list_filter = ["disclosure", "category", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["providers"]


@admin.register(BehaviorRule)
class BehaviorRuleAdmin(AuditedModelAdmin):
    list_display = [
        "code",
        "item",
        "name",
        "kind",
        "severity",
        "priority",
        "published",
        "min_months",
        "max_months",
    ]
    list_filter = ["kind", "severity", "item"]
    search_fields = ["code", "name"]


@admin.register(Matter)
class MatterAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "category", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["departments"]


@admin.register(CodeTable)
class CodeTableAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "source_version"]


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedModelAdmin):
    list_display = ["date", "is_workday", "note"]
    list_filter = ["is_workday"]
