from django.urls import path

from creditplus.integrity import views

app_name = "integrity"

urlpatterns = [
    path("", views.index, name="index"),
    path("periods/new/", views.period_new, name="period_new"),
    path("<str:code>/", views.period, name="period"),
    path("<str:code>/compute/", views.compute, name="compute"),
    path("<str:code>/close/", views.close, name="close"),
    path("<str:code>/assess/", views.assess, name="assess"),
    path("<str:code>/evidence/<int:pk>/", views.evidence, name="evidence"),
    path("<str:code>/departments/<str:department>/", views.department, name="department"),
]
