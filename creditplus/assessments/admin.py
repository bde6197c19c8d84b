from django.contrib import admin

from creditplus.assessments.models import Institution, InstitutionMember, Questionnaire


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active", "source_version"]


class MemberInline(admin.TabularInline):
    model = InstitutionMember
    raw_id_fields = ["user"]
    extra = 1


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "uscc"]
    inlines = [MemberInline]
