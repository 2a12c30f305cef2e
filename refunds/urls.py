from django.urls import path

from . import views

app_name = "refunds"
urlpatterns = [
    path("claims/", views.claims, name="claims"),
    path("claims/new/", views.declaration_new, name="declaration_new"),
    path("claims/build-selected/", views.build_selected, name="build_selected"),
    path("claims/own-files/", views.own_files, name="own_files"),
    path("claims/batches/<uuid:public_id>/", views.batch_detail, name="batch"),
    path("claims/batches/<uuid:public_id>/files.zip", views.batch_zip, name="batch_zip"),
    path("claims/reports/", views.reports, name="reports"),
    path("claims/reports/<uuid:public_id>/", views.report_detail, name="report"),
    path("claims/reports/<uuid:public_id>/unmatched.csv", views.report_problems_csv, name="report_problems"),
    path("claims/reports/<uuid:public_id>/file/", views.report_file, name="report_file"),
    path("claims/<uuid:public_id>/", views.declaration_detail, name="declaration"),
    path("claims/<uuid:public_id>/file.csv", views.declaration_file, name="declaration_file"),
    path("claims/<uuid:public_id>/filing/", views.declaration_filing, name="declaration_filing"),
    path("claims/<uuid:public_id>/discard/", views.declaration_discard, name="declaration_discard"),
    path(
        "claims/<uuid:public_id>/allow-refile/",
        views.declaration_allow_refile,
        name="declaration_allow_refile",
    ),
]
