from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from creditplus.api import api
from creditplus.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    *i18n_patterns(
        path("admin/", admin.site.urls),
        # Before accounts: its exact "" route shows the credit office's cockpit at /backoffice/.
        path("backoffice/", include("creditplus.cockpit.urls")),
        path("backoffice/", include("creditplus.accounts.urls")),
        path("backoffice/records/", include("creditplus.records.urls")),
        path("backoffice/subjects/", include("creditplus.subjects.urls")),
        path("backoffice/lists/", include("creditplus.lists.urls")),
        path("backoffice/evaluation/", include("creditplus.evaluation.urls")),
        path("backoffice/sanctions/", include("creditplus.sanctions.urls")),
        path("backoffice/supervision/", include("creditplus.supervision.urls")),
        path("backoffice/reports/", include("creditplus.reports.urls")),
        path("backoffice/assessments/", include("creditplus.assessments.urls")),
        path("backoffice/integrity/", include("creditplus.integrity.urls")),
        path("backoffice/operations/", include("creditplus.operations.urls")),
        # Before the portal: /verify and the enterprise area's /my/report/ pages.
        path("", include("creditplus.reports.portal_urls")),
        # Before the portal: the enterprise area's 信用张江 pages under /my/assessments/.
        path("", include("creditplus.assessments.portal_urls")),
        path("opendata/", include("creditplus.opendata.urls")),
        path("", include("creditplus.portal.urls")),
        prefix_default_language=False,
    ),
]

# The site's own Chinese error pages, in the layout of the area asked for (back office/portal).
handler403 = "creditplus.error_pages.permission_denied"
handler404 = "creditplus.error_pages.page_not_found"
