import os

import pytest
from django_scopes import scopes_disabled

from brokerage.celery import app
from tests.factories import ClientFactory, assign, importer_number, member, staff_user

# The tenant matrix's world and its visitors, shared by tests/test_tenant_matrix.py and tests/security/.
from tests.tenant_world import inactive_a, loner, staff_nomfa_a, world  # noqa: F401


@pytest.fixture
def client_a(db):
    client = ClientFactory(slug="client-a", legal_name="Alpha Imports LLC")
    importer_number(client, "12-345678900")
    return client


@pytest.fixture
def client_b(db):
    client = ClientFactory(slug="client-b", legal_name="Bravo Trading Inc.")
    importer_number(client, "98-765432100")
    return client


@pytest.fixture
def admin_a(client_a):
    return member(client_a, role="client_admin")


@pytest.fixture
def member_a(client_a):
    return member(client_a)


@pytest.fixture
def admin_b(client_b):
    return member(client_b, role="client_admin")


@pytest.fixture
def member_b(client_b):
    return member(client_b)


@pytest.fixture
def staff_a(client_a):
    staff = staff_user()
    assign(client_a, staff)
    return staff


@pytest.fixture
def staff_b(client_b):
    staff = staff_user()
    assign(client_b, staff)
    return staff


@pytest.fixture
def manager(db):
    return staff_user(manager=True)


@pytest.fixture
def no_scope():
    """For arranging and asserting in tests: the explicit escape, never used by the code under test."""
    with scopes_disabled():
        yield


def _services_missing_reason(settings) -> str | None:
    if not settings.TEST_REDIS_URL:
        return "REDIS_URL is not set"
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "a worker process needs a database it can share: set DATABASE_URL to PostgreSQL"
    return None


@pytest.fixture
def postgresql(settings):
    """For a test that needs PostgreSQL itself (row locks, real concurrency, its plans): skipped on SQLite,
    unless REQUIRE_SERVICES=1 (CI), where that is a failure."""
    import os

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        reason = "this test needs PostgreSQL (real concurrency, row locks, its plans): set DATABASE_URL to it"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def celery_worker_process(start_celery_worker):
    """A real `celery worker` process consuming a private queue on Redis, on the test database.

    Tasks enqueued by the code under test go through Redis to this process (not eager mode). Skipped
    without Redis and PostgreSQL, unless REQUIRE_SERVICES=1 (CI), where that is a failure.
    """
    return start_celery_worker()


@pytest.fixture
def start_celery_worker(settings, transactional_db, tmp_path):
    """Starts real worker processes (see celery_worker_process); each call starts one more.

    start_celery_worker(broker_url=..., env={...}, pool="solo", queues=None, concurrency=1, beat=False) -> the
    Popen, with .log_path and .queue_prefix (beat=True starts `celery beat` instead, sending to them).
    The test's queues are private: its default queue and one per kind of work (settings.TASK_QUEUES),
    named with a prefix of its own; a worker consumes them all, or with queues=["imports", ...] only those
    kinds ("default": the default queue). This process enqueues to them on broker_url (the test Redis
    unless given). The workers still running at the end are stopped.
    """
    import os
    import subprocess
    import sys
    import time
    import uuid
    from urllib.parse import quote

    from brokerage.celery import app

    reason = _services_missing_reason(settings)
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)

    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )
    queue = f"test-{uuid.uuid4().hex[:12]}"
    settings.QUEUE_PREFIX = f"{queue}."  # brokerage.celery.route_task reads it when a task is sent
    processes = []
    previous = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.broker_url = settings.TEST_REDIS_URL

    def start(
        *,
        broker_url: str | None = None,
        env: dict | None = None,
        pool: str = "solo",
        queues=None,
        concurrency: int = 1,
        beat: bool = False,
    ):
        kinds = queues or ["default", *settings.TASK_QUEUES]
        names = [queue if kind == "default" else f"{queue}.{kind}" for kind in kinds]
        broker_url = broker_url or settings.TEST_REDIS_URL
        if app.conf.broker_url != broker_url:
            app.conf.broker_url = broker_url
            app._pool = None  # Celery caches the pool of the first broker URL it used
            app.amqp._producer_pool = None
        log = tmp_path / f"worker-{len(processes) + 1}.log"
        if beat:
            command = ["beat", "--loglevel=INFO", "--schedule", str(tmp_path / f"beat-{len(processes)}")]
        else:
            command = [
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "-Q",
                ",".join(names),
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "brokerage", *command],
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "brokerage.settings",
                "DATABASE_URL": database_url,
                "REDIS_URL": broker_url,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "CELERY_TASK_DEFAULT_QUEUE": queue,  # what the worker's own tasks enqueue goes there too
                "CELERY_QUEUE_PREFIX": f"{queue}.",
                "PRIVATE_STORAGE_ROOT": str(settings.PRIVATE_STORAGE_ROOT),
                "DB_CONN_MAX_AGE": "0",
                **(env or {}),
            },
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        deadline = time.monotonic() + 60
        while (b"beat: Starting" if beat else b"ready") not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("The Celery worker did not start:\n" + log.read_text())
            time.sleep(0.2)
        process.log_path = log
        process.queue_prefix = f"{queue}."
        return process

    try:
        yield start
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url = previous
        app._pool = None
        app.amqp._producer_pool = None
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def deliver(task, *args, redelivered: bool) -> None:
    """Run a task as a worker runs a message, first delivered or delivered again (its worker died).

    Celery's eager apply() sets its own delivery_info, so the flag goes through a request pushed by hand.
    """
    task.push_request(delivery_info={"redelivered": redelivered}, id="delivered", retries=0)
    try:
        task.run(*args)
    finally:
        task.pop_request()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {message}")


@pytest.fixture
def importer(db):
    """A client holding every importer number of the sample ES-003 reports (tests/entries/helpers.py)."""
    from tests.entries.helpers import SAMPLE_IORS
    from tests.factories import ClientFactory, importer_number

    client = ClientFactory(slug="importer")
    for numbers in SAMPLE_IORS.values():
        for number in numbers:
            importer_number(client, number)
    return client


@pytest.fixture
def postgres(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but the database is not PostgreSQL")
        pytest.skip("staging in two halves is for PostgreSQL")


@pytest.fixture
def broker_down():
    """Celery pointed at a port where nothing listens: a real connection failure, not a stub."""
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    _reset_pool()
    yield
    app.conf.task_always_eager, app.conf.broker_url = previous
    _reset_pool()


def _reset_pool():
    # Celery caches the pool of the broker URL it first used; forget it so the current URL's pool is
    # looked up (kombu keeps one pool per URL, so the previous one is found again intact afterwards).
    app._pool = None
    app.amqp._producer_pool = None
