"""Public pages of the reports app, mounted at the site root before the portal's own URLs:
``/verify`` (report verification, an interface name: no trailing slash) and the enterprise
area's own reports under ``/my/report/``."""

from django.urls import path

from creditplus.reports import portal_views

app_name = "reports_portal"

urlpatterns = [
    path("verify", portal_views.verify, name="verify"),
    path("my/report/", portal_views.my_reports, name="my_reports"),
    path("my/report/<str:number>.pdf", portal_views.my_report_pdf, name="my_report_pdf"),
    path("my/report/<str:number>/", portal_views.my_report, name="my_report"),
]
