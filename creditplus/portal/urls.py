from django.urls import path

from creditplus.portal import my, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("subjects/<str:code>/", views.subject, name="subject"),
    path("publicity/licenses/", views.licenses, name="licenses"),
    path("publicity/penalties/", views.penalties, name="penalties"),
    path("lists/", views.lists, name="lists"),
    path("lists/<str:code>/", views.list_detail, name="list_detail"),
    path("commitments/", views.commitments, name="commitments"),
    path("inspections/", views.inspections, name="inspections"),
    path("my/", my.my, name="my"),
    path("my/commitments/new/", my.commitment_new, name="my_commitment_new"),
    path("my/lists/<int:pk>/", my.my_entry, name="my_entry"),
    path("my/lists/<int:pk>/notice/", my.my_entry_notice, name="my_entry_notice"),
    path("my/objections/new/", my.objection_new, name="objection_new"),
    path("my/objections/<int:pk>/", my.objection_detail, name="objection_detail"),
    path("my/restorations/new/", my.restoration_new, name="restoration_new"),
    path("my/restorations/<int:pk>/", my.restoration_detail, name="restoration_detail"),
]
