from django.urls import path

from creditplus.operations import views

app_name = "operations"

urlpatterns = [
    path("health/", views.health, name="health"),
]
