from django.urls import path

from creditplus.lists import views

app_name = "lists"

urlpatterns = [
    path("", views.entries, name="entries"),
    path("new/", views.propose, name="propose"),
    path("types/", views.types, name="types"),
    path("objections/", views.objections, name="objections"),
    path("objections/<int:pk>/", views.objection, name="objection"),
    path("restorations/", views.restorations, name="restorations"),
    path("restorations/<int:pk>/", views.restoration, name="restoration"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("<int:pk>/", views.entry, name="entry"),
    path("<int:pk>/restoration-notice/", views.restoration_notice, name="restoration_notice"),
    path("<int:pk>/<str:action>/", views.entry_action, name="entry_action"),
]
