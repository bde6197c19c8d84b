from django.urls import path

from creditplus.supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("commitments/", views.commitments, name="commitments"),
    path("commitments/new/", views.commitment_new, name="commitment_new"),
    path("commitments/<str:number>/", views.commitment, name="commitment"),
    path("plans/", views.plans, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<str:number>/", views.plan, name="plan"),
    path("inspections/", views.inspection_list, name="inspections"),
    path("inspections/<int:pk>/", views.inspection, name="inspection"),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:pk>/follow-up/", views.notice_follow_up, name="notice_follow_up"),
]
