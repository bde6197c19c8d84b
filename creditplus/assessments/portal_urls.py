"""The enterprise area's 信用张江 pages under ``/my/assessments/``, mounted at the site root
before the portal's own URLs."""

from django.urls import path

from creditplus.assessments import portal_views

app_name = "assessments_portal"

urlpatterns = [
    path("my/assessments/", portal_views.index, name="index"),
    path("my/assessments/self/", portal_views.self_assessment, name="self"),
    path("my/assessments/<int:pk>/", portal_views.assessment, name="assessment"),
    path("my/assessments/evidence/<int:pk>", portal_views.evidence, name="evidence"),
    path("my/assessments/grants/new/", portal_views.grant_new, name="grant_new"),
    path("my/assessments/grants/<int:pk>/revoke", portal_views.grant_revoke, name="grant_revoke"),
    path("my/assessments/financing", portal_views.financing, name="financing"),
    path("my/assessments/report/", portal_views.report_new, name="report_new"),
    path("my/assessments/report/<str:number>.pdf", portal_views.report_pdf, name="report_pdf"),
    path("my/assessments/report/<str:number>/", portal_views.report, name="report"),
]
