from django.urls import path

from creditplus.evaluation import views

app_name = "evaluation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("subjects/<str:code>/", views.subject_profile, name="profile"),
    path("models/", views.model_list, name="models"),
    path("models/<str:code>/", views.model_detail, name="model"),
    path("models/<str:code>/activate/", views.activate, name="activate"),
]
