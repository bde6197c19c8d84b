from django.urls import path, re_path

from creditplus.opendata import views

app_name = "opendata"

urlpatterns = [
    path("", views.index, name="index"),
    re_path(
        r"^(?P<day>\d{4}-\d{2}-\d{2})/(?P<name>[a-z][a-z.-]{0,40})$",
        views.download,
        name="file",
    ),
]
