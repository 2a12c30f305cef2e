"""Reads on reports and entries; access helpers 404 for both missing and not-yours."""

from django.shortcuts import get_object_or_404

from clients.models import Client

from .models import EntryReport, RowRejection


def client_reports(*, client: Client):
    return EntryReport.objects.filter(client=client).select_related("created_by").order_by("-created_at")


def report_for_client(*, client: Client, public_id) -> EntryReport:
    return get_object_or_404(EntryReport, client=client, public_id=public_id)


def report_rejections(*, report: EntryReport):
    return RowRejection.objects.filter(client=report.client, report=report).order_by("row_number", "id")


def client_entries(*, client: Client):
    from .models import Entry

    return Entry.objects.filter(client=client).order_by("next_deadline", "entry_number")
