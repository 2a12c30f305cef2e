"""The staff URLconf, below /staff/: pages across the clients a staff member may see (staff only, others 404).

The onboarding and letters pages for staff stay with their concern in clients (they share its forms and
selectors); this URLconf only mounts them.
"""

from django.urls import path

from clients.letters import views as letters_views
from clients.onboarding import views as onboarding_views

from .views import assignments, broker_reports, cape, caseload

app_name = "staff"
urlpatterns = [
    path("", caseload.caseload, name="caseload"),
    path("deadlines/", caseload.deadlines, name="deadlines"),
    path("onboarding/", onboarding_views.staff_onboarding, name="onboarding"),
    path("clients/", assignments.client_list, name="clients"),
    path("assignments/", assignments.assignments, name="assignments"),
    path("assignments/<int:client_id>/", assignments.assignment_change, name="assignment_change"),
    path("reports/", broker_reports.broker_reports, name="broker_reports"),
    path("rule-changes/", broker_reports.rule_changes, name="rule_changes"),
    path("reports/<uuid:public_id>/", broker_reports.broker_report, name="broker_report"),
    path(
        "reports/<uuid:public_id>/unmatched.csv",
        broker_reports.broker_report_unmatched,
        name="broker_report_unmatched",
    ),
    path("cape/", cape.cape, name="cape"),
    path("letters/", letters_views.staff_letters, name="letters"),
    path("letters/templates/<slug:kind>/", letters_views.staff_letter_sample, name="letter_sample"),
    path("letters/batches/<uuid:public_id>/", letters_views.staff_letter_batch, name="letter_batch"),
]
