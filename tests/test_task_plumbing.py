"""One way to queue work (brokerage.queueing): services name their task and never import a tasks module; a
broker that cannot be reached never fails the person's request, whatever the work; the scoped task base
enters the row's client scope."""

import ast
import importlib
import time
from pathlib import Path

import pytest
from django.urls import reverse
from django_scopes import get_scope, scope

from brokerage.celery import app
from brokerage.queueing import ScopedTask, enqueue, enqueue_on_commit
from clients.models import AuditExport
from refunds.models import CbpReport
from tests.factories import ClientFactory

ROOT = Path(__file__).resolve().parents[1]
APPS = ("clients", "entries", "refunds", "protests", "staff")


def _modules():
    for app_name in APPS:
        for path in sorted((ROOT / app_name).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            if "migrations" in relative.parts:
                continue
            yield ".".join(relative.parts), ast.parse(path.read_text(encoding="utf-8"))


def _is_tasks_module(name: str) -> bool:
    """An app's tasks module (entries.tasks, clients.letters_tasks, a tasks package's modules)."""
    return name.split(".")[0] in APPS and (
        name.rsplit(".", 1)[-1].endswith("tasks") or ".tasks." in f"{name}."
    )


def _imported(tree: ast.AST, package: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - (node.level - 1)], *([base] if base else [])])
            found += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return found


def test_only_tasks_modules_and_commands_import_tasks_modules():
    """Tasks import services; services (and selectors, models, forms, views, admin) never import tasks."""
    offenders = []
    for name, tree in _modules():
        if _is_tasks_module(name) or ".management.commands." in name:
            continue
        package = name.rsplit(".", 1)[0]
        offenders += [f"{name} imports {m}" for m in _imported(tree, package) if _is_tasks_module(m)]
    assert not offenders, "\n".join(offenders)


def _enqueued_task_names() -> dict[str, str]:
    """Every task name passed to enqueue / enqueue_on_commit in the apps, with the module that passes it."""
    names = {}
    for module, tree in _modules():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") in ("enqueue", "enqueue_on_commit")
            ):
                continue
            argument = node.args[0]
            if isinstance(argument, ast.Constant):
                names[argument.value] = module
            else:  # a module constant such as entries.ingestion.services.IMPORT_TASK
                names[getattr(importlib.import_module(module), argument.id)] = module
    return names


def test_every_task_a_service_names_is_a_registered_task_routed_to_its_queue(settings):
    names = _enqueued_task_names()
    assert len(names) >= 7  # reports, broker reports, CBP reports, audit exports, letters, batches, PDFs
    routed = {task for tasks in settings.TASK_QUEUES.values() for task in tasks}
    app.loader.import_default_modules()
    for name, module in names.items():
        assert name in app.tasks, f"{module} queues {name}, which no task is registered as"
        assert name in routed, f"{name} is in no queue of settings.TASK_QUEUES"


def test_an_unknown_task_name_fails_at_once_not_when_the_transaction_commits(db):
    with pytest.raises(KeyError):
        enqueue_on_commit("entries.tasks.no_such_task", 1)


def test_queueing_while_the_broker_is_down_answers_at_once_and_says_so(broker_down):
    started = time.monotonic()
    assert enqueue("clients.tasks.build_audit_export", 1) is False
    assert time.monotonic() - started < 3


def test_audit_export_requested_while_the_broker_is_down_is_kept_queued(
    client, client_a, admin_a, broker_down, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("clients:audit", kwargs={"client_slug": client_a.slug}))
    assert response.status_code == 302  # the person is not shown an error
    with scope(client=client_a):
        export = AuditExport.objects.get()
    assert export.status == AuditExport.Status.PENDING
    assert "Queued" in client.get(response.url).content.decode()


def test_cbp_report_uploaded_while_the_broker_is_down_is_kept_queued(
    client, client_a, staff_a, broker_down, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(staff_a)
    upload = SimpleUploadedFile("rev603.csv", b"Entry Number,Refund Status\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("refunds:reports", kwargs={"client_slug": client_a.slug}),
            {"kind": "rev603", "file": upload},
        )
    assert response.status_code == 302
    with scope(client=client_a):
        report = CbpReport.objects.get()
    assert report.status == CbpReport.Status.PENDING
    assert "Queued" in client.get(response.url).content.decode()


def test_the_scoped_task_base_enters_the_rows_client_scope_only(client_a):
    seen = {}

    @app.task(base=ScopedTask, bind=True, name="tests.scoped_probe")
    def probe(self, export_id):
        with self.client_scope(AuditExport, export_id) as export:
            seen["client"] = get_scope().get("client")
            seen["export"] = export
        seen["after"] = get_scope().get("client")

    with scope(client=client_a):
        export = AuditExport.objects.create(client=client_a)
    ClientFactory(slug="another")  # another client's scope is never entered
    probe.apply(args=(export.pk,))
    assert seen["client"] == client_a and seen["export"] == export and seen["after"] is None
