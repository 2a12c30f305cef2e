from django.urls import path

from . import views

app_name = "entries"
urlpatterns = [
    path("reports/", views.reports, name="reports"),
    path("entries/", views.entry_list, name="list"),
]
