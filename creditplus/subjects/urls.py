from django.urls import path

from creditplus.subjects import views

app_name = "subjects"

urlpatterns = [
    path("accounts/bind/", views.bind_account, name="bind_account"),
]
