from django.urls import path

from . import views

app_name = "protests"
urlpatterns = [
    path("protests/", views.protest_list, name="list"),
    path("protests/new/", views.protest_new, name="new"),
    path("protests/authorization/", views.protest_authorize, name="authorize"),
    path("protests/authorization/revoke/", views.protest_authorization_revoke, name="authorization_revoke"),
    path("protests/<uuid:public_id>/", views.protest_detail, name="detail"),
    path("protests/<uuid:public_id>/description/", views.protest_description, name="description"),
    path("protests/<uuid:public_id>/entries/add/", views.protest_entry_add, name="entry_add"),
    path("protests/<uuid:public_id>/entries/remove/", views.protest_entry_remove, name="entry_remove"),
    path("protests/<uuid:public_id>/discard/", views.protest_discard, name="discard"),
    path("protests/<uuid:public_id>/pdf/", views.protest_pdf_request, name="pdf_request"),
    path("protests/<uuid:public_id>/status/", views.protest_status, name="status"),
    path("protests/<uuid:public_id>/protest.pdf", views.protest_pdf, name="pdf"),
    path("protests/<uuid:public_id>/entries.csv", views.protest_csv, name="csv"),
    path("protests/<uuid:public_id>/filing/", views.protest_filing, name="filing"),
    path("protests/<uuid:public_id>/accelerated/", views.protest_accelerated, name="accelerated"),
    path("protests/<uuid:public_id>/decision/", views.protest_decision, name="decision"),
    path("protests/<uuid:public_id>/decision-list/", views.protest_decision_list, name="decision_list"),
    path(
        "protests/<uuid:public_id>/decision-lists/<uuid:list_id>/",
        views.protest_decision_list_status,
        name="decision_list_status",
    ),
    path(
        "protests/<uuid:public_id>/decision-lists/<uuid:list_id>/not-applied.csv",
        views.protest_decision_list_problems,
        name="decision_list_problems",
    ),
    path("protests/<uuid:public_id>/withdraw/", views.protest_withdraw, name="withdraw"),
]
