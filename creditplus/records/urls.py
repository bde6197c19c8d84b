from django.urls import path

from creditplus.records import views

app_name = "records"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("batches/", views.batches, name="batches"),
    path("batches/<int:batch_id>/", views.batch, name="batch"),
    path("batches/<int:batch_id>/rejected.csv", views.rejected_csv, name="rejected_csv"),
    path("quality/", views.quality, name="quality"),
]
