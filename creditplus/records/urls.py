from django.urls import path

from creditplus.records import views

app_name = "records"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("jobs/<int:job_id>/decide/", views.job_decide, name="job_decide"),
    path("batches/", views.batches, name="batches"),
    path("batches/<int:batch_id>/", views.batch, name="batch"),
    path("batches/<int:batch_id>/rejected.csv", views.rejected_csv, name="rejected_csv"),
    path("quality/", views.quality, name="quality"),
]
