from django.contrib import admin

from creditplus.accounts.admin import AuditedModelAdmin
from creditplus.sanctions.models import Measure


@admin.register(Measure)
class MeasureAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "kind", "category", "status", "coordination_level", "is_active"]
    list_filter = ["kind", "category", "status", "coordination_level", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["list_types", "departments", "matters"]
