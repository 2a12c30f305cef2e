from django.urls import path

from entries import staff_views as entry_staff_views

from . import staff_views, views

app_name = "clients"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("onboarding/", views.onboarding, name="onboarding"),
    path("team/", views.team, name="team"),
    path("team/<int:membership_id>/", views.member_update, name="member_update"),
    path("team/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("profile/", views.profile, name="profile"),
    path("profile/logo/", views.letterhead_logo, name="letterhead_logo"),
    path("profile/importer-numbers/", views.importer_number_add, name="importer_number_add"),
    path(
        "profile/importer-numbers/<int:importer_id>/remove/",
        views.importer_number_remove,
        name="importer_number_remove",
    ),
    path("audit/", views.audit_trail, name="audit"),
    path("audit/exports/<uuid:public_id>/", views.audit_export, name="audit_export"),
    path(
        "audit/exports/<uuid:public_id>/download/", views.audit_export_download, name="audit_export_download"
    ),
]

staff_urlpatterns = (
    [
        path("", staff_views.caseload, name="caseload"),
        path("deadlines/", staff_views.deadlines, name="deadlines"),
        path("clients/", staff_views.client_list, name="clients"),
        path("assignments/", staff_views.assignments, name="assignments"),
        path("assignments/<int:client_id>/", staff_views.assignment_change, name="assignment_change"),
        path("reports/", entry_staff_views.broker_reports, name="broker_reports"),
        path("reports/<uuid:public_id>/", entry_staff_views.broker_report, name="broker_report"),
        path(
            "reports/<uuid:public_id>/unmatched.csv",
            entry_staff_views.broker_report_unmatched,
            name="broker_report_unmatched",
        ),
    ],
    "staff",
)
