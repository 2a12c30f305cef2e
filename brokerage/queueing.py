"""The plumbing every app's tasks use: the task base that enters a row's client scope, queueing a task when
the transaction commits, and retrying when the database went away.

Tasks import services; services never import tasks. A service that hands work to a worker names the task by
its registered Celery name (as settings.TASK_QUEUES and the beat schedule do) through `enqueue_on_commit`,
so the services and tasks of an app do not import each other in a circle.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task
from celery.exceptions import NotRegistered
from django.db import InterfaceError, OperationalError, transaction
from django_scopes import scope, scopes_disabled

from .celery import app

logger = logging.getLogger(__name__)

# The database went away (a restart, a failover, a dropped connection): try again after 5, 10, 20, 40, 80
# and 160 s (about five minutes in all). Celery's Django fix-up drops the broken connection before the
# next run, so the retry reconnects.
RETRY_ON_DATABASE_GONE = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 5 * 60,
    "retry_jitter": False,
    "max_retries": 6,
}


class ScopedTask(Task):
    """The base of tasks about one tenant-owned row: ids in, fetch, enter the row's client scope.

    @shared_task(base=ScopedTask, bind=True, acks_late=True)
    def build_audit_export(self, export_id):
        with self.client_scope(AuditExport, export_id) as export:
            audit_export_build(export=export)
    """

    @contextmanager
    def client_scope(self, model, pk: int, *, related: tuple[str, ...] = ()) -> Iterator:
        with scopes_disabled():  # the id alone does not tell the client; look it up, then enter its scope
            row = model.objects.select_related("client", *related).get(pk=pk)
        with scope(client=row.client):
            yield row

    @property
    def redelivered(self) -> bool:
        """The broker delivered this message before (its worker died, or it was rejected when its pool died)."""
        return bool((self.request.delivery_info or {}).get("redelivered"))


def enqueue_on_commit(task_name: str, *args) -> None:
    """Queue the task registered as `task_name` with `args` once the current transaction commits.

    The row the task reads must be committed first, or the worker might not find it. A name that no task
    has is a programming error and raises here, at once.
    """
    task = _task(task_name)
    transaction.on_commit(lambda: _send(task, args))


def enqueue(task_name: str, *args) -> bool:
    """Queue the task now (outside a transaction, e.g. the sweeper); False when the broker is unreachable."""
    return _send(_task(task_name), args)


def _send(task: Task, args: tuple) -> bool:
    """Send one message; when the broker cannot be reached, log it and return False, never raise.

    The caller's rows are committed and stay queued (pending) on the page, where the sweeper (report
    imports) or the person (a new request) queues them again. One connection attempt only: while Redis is
    down a request answers at once instead of after the pooled connection's retries (about 6 s).
    """
    try:
        with app.connection_for_write(transport_options={"max_retries": 0}) as broker:
            task.apply_async(args, retry=False, connection=broker)
    except Exception:  # kombu raises several connection error types; none may fail the caller
        logger.warning(
            "Could not queue %s%r; it stays queued until queued again", task.name, args, exc_info=True
        )
        return False
    return True


def _task(name: str) -> Task:
    try:
        return app.tasks[name]
    except NotRegistered:
        # Celery discovers the apps' tasks modules lazily (a worker at start); a web process has not yet.
        app.loader.import_default_modules()
        return app.tasks[name]
