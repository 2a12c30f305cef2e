from django.urls import path

from . import views
from .letters import views as letters_views
from .onboarding import views as onboarding_views

app_name = "clients"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("onboarding/", onboarding_views.onboarding, name="onboarding"),
    path("onboarding/items/<slug:key>/", onboarding_views.item_update, name="onboarding_item_update"),
    path(
        "onboarding/items/<slug:key>/evidence/",
        onboarding_views.evidence_upload,
        name="onboarding_evidence_upload",
    ),
    path("onboarding/items/<slug:key>/verify/", onboarding_views.item_verify, name="onboarding_item_verify"),
    path("onboarding/items/<slug:key>/reopen/", onboarding_views.item_reopen, name="onboarding_item_reopen"),
    path(
        "onboarding/evidence/<uuid:public_id>/",
        onboarding_views.evidence_download,
        name="onboarding_evidence",
    ),
    path(
        "onboarding/evidence/<uuid:public_id>/remove/",
        onboarding_views.evidence_remove,
        name="onboarding_evidence_remove",
    ),
    path("onboarding/ace/path/", onboarding_views.ace_path, name="onboarding_ace_path"),
    path("onboarding/ace/steps/", onboarding_views.ace_steps_save, name="onboarding_ace_steps"),
    path("onboarding/form-5106/", onboarding_views.form_5106, name="onboarding_5106"),
    path("onboarding/code-window/", onboarding_views.code_window_propose, name="onboarding_window_propose"),
    path(
        "onboarding/code-window/<uuid:public_id>/confirm/",
        onboarding_views.code_window_confirm,
        name="onboarding_window_confirm",
    ),
    path(
        "onboarding/code-window/<uuid:public_id>/cancel/",
        onboarding_views.code_window_cancel,
        name="onboarding_window_cancel",
    ),
    path(
        "onboarding/code-window/<uuid:public_id>/calendar.ics",
        onboarding_views.code_window_calendar,
        name="onboarding_window_calendar",
    ),
    path("onboarding/sub-account/", onboarding_views.sub_account, name="onboarding_sub_account"),
    path("onboarding/ach/", onboarding_views.ach, name="onboarding_ach"),
    path("onboarding/special-cases/", onboarding_views.special_cases, name="onboarding_special_cases"),
    path("onboarding/authorization/", onboarding_views.authorization_grant, name="onboarding_authorize"),
    path(
        "onboarding/authorization/revoke/",
        onboarding_views.authorization_revoke,
        name="onboarding_authorization_revoke",
    ),
    path("letters/", letters_views.letters, name="letters"),
    path("letters/new/<slug:kind>/", letters_views.letter_new, name="letter_new"),
    path("letters/new/<slug:kind>/preview/", letters_views.letter_preview, name="letter_preview"),
    path("letters/<uuid:public_id>/", letters_views.letter, name="letter"),
    path("letters/<uuid:public_id>/letter.pdf", letters_views.letter_download, name="letter_download"),
    path("letters/<uuid:public_id>/regenerate/", letters_views.letter_regenerate, name="letter_regenerate"),
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
    path(
        "profile/importer-numbers/<int:importer_id>/verify/",
        views.importer_number_verify,
        name="importer_number_verify",
    ),
    path("audit/", views.audit_trail, name="audit"),
    path("audit/exports/<uuid:public_id>/", views.audit_export, name="audit_export"),
    path(
        "audit/exports/<uuid:public_id>/download/", views.audit_export_download, name="audit_export_download"
    ),
]
