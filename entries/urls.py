from django.urls import path

from . import views

app_name = "entries"
urlpatterns = [
    path("reports/", views.reports, name="reports"),
    path("reports/<uuid:public_id>/", views.report_detail, name="report"),
    path("reports/<uuid:public_id>/errors.csv", views.report_errors_csv, name="report_errors"),
    path("reports/<uuid:public_id>/file/", views.report_file, name="report_file"),
    path("entries/", views.entry_list, name="list"),
    path("entries/bulk/", views.entry_bulk, name="bulk"),
    path("entries/<str:entry_number>/", views.entry_detail, name="detail"),
    path("rule-changes/", views.rule_changes, name="rule_changes"),
]
