"""Entry and report pages of a client (run in the client's scope)."""

from django.shortcuts import render


def reports(request, client_slug):
    return render(request, "entries/reports.html")


def entry_list(request, client_slug):
    return render(request, "entries/entry_list.html")
