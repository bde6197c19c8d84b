from django.contrib import admin

from creditplus.accounts.admin import AuditedModelAdmin
from creditplus.records.models import ReportingAuthority


@admin.register(ReportingAuthority)
class ReportingAuthorityAdmin(AuditedModelAdmin):
    list_display = ["department", "name", "uscc", "source_version"]
    list_filter = ["department"]
    search_fields = ["name", "uscc"]
