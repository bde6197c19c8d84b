from django.urls import path

from creditplus.assessments import views

app_name = "assessments"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("evidence/<int:pk>", views.evidence, name="evidence"),
    path("finance/", views.finance, name="finance"),
    path("finance/matchmaking/", views.matchmaking, name="matchmaking"),
    path("finance/<str:code>.pdf", views.finance_report_pdf, name="finance_report_pdf"),
    path("finance/<str:code>/", views.finance_report, name="finance_report"),
]
