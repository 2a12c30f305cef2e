"""CAPE claims and letters of a client (run in the client's scope)."""

from django.shortcuts import render


def claims(request, client_slug):
    return render(request, "refunds/claims.html")


def letters(request, client_slug):
    return render(request, "refunds/letters.html")
