from django.urls import path

from creditplus.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("enterprise/", views.enterprise_new, name="enterprise_new"),
    path("personal/", views.personal_new, name="personal_new"),
    path("authorizations/<int:pk>/", views.authorization, name="authorization"),
    path("authorizations/<int:pk>/file", views.authorization_file, name="authorization_file"),
    path("<str:number>.pdf", views.pdf, name="pdf"),
    path("<str:number>/", views.detail, name="detail"),
]
