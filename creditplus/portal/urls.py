from django.urls import path

from creditplus.portal import my, signin, views

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
    path("my/login/", signin.EnterpriseLoginView.as_view(), name="login"),
    path("my/logout/", signin.EnterpriseLogoutView.as_view(), name="logout"),
    path("my/password/", signin.EnterprisePasswordChangeView.as_view(), name="password_change"),
    path("my/password/reset/", signin.EnterprisePasswordResetView.as_view(), name="password_reset"),
    path(
        "my/password/reset/sent/",
        signin.EnterprisePasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "my/password/reset/<uidb64>/<token>/",
        signin.EnterprisePasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "my/password/reset/done/",
        signin.EnterprisePasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("my/commitments/new/", my.commitment_new, name="my_commitment_new"),
    path("my/lists/<int:pk>/", my.my_entry, name="my_entry"),
    path("my/lists/<int:pk>/notice/", my.my_entry_notice, name="my_entry_notice"),
    path("my/objections/new/", my.objection_new, name="objection_new"),
    path("my/objections/<int:pk>/", my.objection_detail, name="objection_detail"),
    path("my/restorations/new/", my.restoration_new, name="restoration_new"),
    path("my/restorations/<int:pk>/", my.restoration_detail, name="restoration_detail"),
]
