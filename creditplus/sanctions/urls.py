from django.urls import path

from creditplus.sanctions import monitoring_views, views

app_name = "sanctions"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("measures/", views.measures, name="measures"),
    path("measures/<str:code>/", views.measure, name="measure"),
    path("cases/", views.cases, name="cases"),
    path("cases/new/", views.initiate, name="initiate"),
    path("cases/<int:pk>/", views.case, name="case"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/feedback/", views.tasks_feedback, name="tasks_feedback"),
    path("tasks/<int:pk>/", views.task, name="task"),
    path("overdue/", views.overdue, name="overdue"),
    path("check/", views.check, name="check"),
    path("checks/", views.checks_list, name="checks"),
    path("checks/<int:pk>/", views.check_detail, name="check_detail"),
    path("checks/batch/<str:batch>/", views.check_batch, name="check_batch"),
    path("watches/", monitoring_views.watches, name="watches"),
    path("watches/<int:pk>/delete/", monitoring_views.unwatch, name="unwatch"),
    path("alerts/", monitoring_views.alerts, name="alerts"),
    path("webhook/", monitoring_views.webhook, name="webhook"),
]
