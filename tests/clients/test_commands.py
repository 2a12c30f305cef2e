"""The clients' management commands (create_client, seed_demo) and the audit export job."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_scopes import scopes_disabled

from clients.models import Client, ImporterNumber


def test_create_client_command(db, capsys):
    call_command(
        "create_client",
        "--slug",
        "acme",
        "--name",
        "Acme Imports LLC",
        "--ior",
        "12-3456789AB",
        "--ior",
        "98-7654321CD",
    )
    assert "Created client acme" in capsys.readouterr().out
    with scopes_disabled():
        assert set(ImporterNumber.objects.filter(client__slug="acme").values_list("number", flat=True)) == {
            "12-3456789AB",
            "98-7654321CD",
        }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "acme", "--name", "Acme", "--ior", "not-a-number"], "importer-of-record number"),
        (["--slug", "client-a", "--name", "Duplicate"], "already exists"),
        (["--slug", "other", "--name", "Other", "--ior", "12-345678900"], "already registered"),
    ],
)
def test_create_client_command_rejects_bad_input(client_a, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_client", *args)
    assert Client.objects.count() == 1


def test_seed_demo_is_idempotent_and_prints_logins(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "manager@demo.test" in out and "demo-refunds-2026" in out
    assert Client.objects.count() == 3
    from clients.models import User

    assert User.objects.exclude(staff_role="").count() == 3
    with scopes_disabled():
        from clients.models import Membership

        assert Membership.objects.count() == 7


def test_audit_export_job_produces_the_csv(client, client_a, admin_a, django_capture_on_commit_callbacks):
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("clients:audit", kwargs={"client_slug": "client-a"}))
    page = client.get(response.url)
    assert "Done" in page.content.decode()
    download = re.search(r'href="([^"]+/download/)"', page.content.decode()).group(1)
    content = b"".join(client.get(download).streaming_content).decode()
    assert content.splitlines()[0] == "time,actor,action,subject,data,description"
    assert "client.audit_export_requested" in content
