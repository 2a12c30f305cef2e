from django.urls import path

from . import views

app_name = "refunds"
urlpatterns = [
    path("claims/", views.claims, name="claims"),
    path("letters/", views.letters, name="letters"),
]
