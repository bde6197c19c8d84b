"""Mounted at ``backoffice/`` before the accounts app: the exact ``""`` route takes over the
back-office home (``accounts:home`` still reverses to it) and delegates for users without
the cockpit permission."""

from django.urls import path

from creditplus.cockpit import views

app_name = "cockpit"

urlpatterns = [
    path("", views.backoffice_home, name="backoffice_home"),
    path("cockpit/", views.home, name="home"),
]
