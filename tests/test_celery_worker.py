"""A job goes through Redis to a real worker process and back to the page (not eager mode)."""

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from clients.models import AuditExport, Job
from tests.conftest import wait_for
from tests.factories import ClientFactory, member

pytestmark = pytest.mark.services


def test_audit_export_runs_on_a_real_worker_through_redis(client, celery_worker_process):
    acme = ClientFactory(slug="acme")
    admin = member(acme, role="client_admin")
    client.force_login(admin)

    response = client.post(reverse("clients:audit", kwargs={"client_slug": "acme"}))
    assert response.status_code == 302

    def finished():
        with scopes_disabled():
            export = AuditExport.objects.get()
        return export if export.is_finished else None

    export = wait_for(finished, timeout=60, message="the worker to finish the export")
    assert export.status == Job.Status.SUCCEEDED, export.message
    assert export.attempts == 1 and export.progress == 100
    assert "build_audit_export" in celery_worker_process.log_path.read_text()

    page = client.get(response.url).content.decode()
    download = re.search(r'href="([^"]+/download/)"', page).group(1)
    content = b"".join(client.get(download).streaming_content).decode()
    assert "client.audit_export_requested" in content
