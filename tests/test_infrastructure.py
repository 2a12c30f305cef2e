"""The deployment files and the settings' production guards."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_parses_and_names_its_services():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "minio", "minio-bucket", "web", "beat", "mailpit"} <= set(services)
    portal = [name for name, service in services.items() if service.get("image") == "ieepa-refund-portal"]
    assert {"web", "beat"} <= set(portal) and any(name.startswith("worker") for name in portal)
    for name in portal:  # one image for web, workers and beat
        service = services[name]
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://")
    assert "gunicorn" in services["web"]["command"]
    assert "beat" in services["beat"]["command"]


def test_compose_runs_a_worker_for_every_queue():
    from django.conf import settings

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    consumed = set()
    for name, service in compose["services"].items():
        command = service.get("command", "")
        if name.startswith("worker") and isinstance(command, str):
            assert " worker " in command and " -Q " in command
            consumed |= set(command.split(" -Q ")[1].split()[0].split(","))
    assert consumed == {*settings.TASK_QUEUES, "celery"}


def test_compose_keeps_client_files_in_the_object_store_not_a_shared_volume():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    portal = [name for name, service in services.items() if service.get("image") == "ieepa-refund-portal"]
    for name in portal:
        assert not services[name].get("volumes"), f"{name} mounts a volume"
        environment = services[name]["environment"]
        assert environment["STORAGE_S3_BUCKET"] == "portal-files"
        assert environment["STORAGE_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert services[name]["depends_on"]["minio-bucket"]["condition"] == "service_completed_successfully"
    created = " ".join(services["minio-bucket"]["command"])
    assert "mc mb --ignore-existing store/portal-files" in created and "anonymous set none" in created
    assert "ports" not in services["minio"]  # only the portal reaches the store


def test_compose_starts_again_whatever_dies():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        once = name == "minio-bucket"  # creates the bucket and exits
        assert service.get("restart") == ("on-failure" if once else "unless-stopped"), name


def _manage(*args, **env):
    # The test run's own variables must not leak into a check of production settings.
    drop = (
        "SECRET_KEY",
        "MFA_ENCRYPTION_KEY",
        "BEHIND_PROXY",
        "DEBUG",
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="false", ALLOWED_HOSTS="portal.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x7#kP2vL9qR4tY8wZ1bN6mC3fH5jD0sG-a8Ue3Wq_T2nB9yV4rE7",
        MFA_ENCRYPTION_KEY="r5@Tq8wL2nV7xK4cB9mZ1pH6jF3gD0sA-e2Yu",
        ALLOWED_HOSTS="portal.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_bad_boolean_setting_is_an_error_not_a_guess():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG must be true or false" in result.stderr


def test_static_assets_are_served_by_the_app_not_a_cdn():
    base = (ROOT / "templates" / "base.html").read_text()
    assert "http://" not in base and "https://" not in base and "//cdn" not in base
    for path in [
        "vendor/bootstrap/bootstrap.min.css",
        "vendor/htmx/htmx.min.js",
        "vendor/bootstrap/bootstrap.bundle.min.js",
    ]:
        assert (ROOT / "static" / path).stat().st_size > 10_000


def test_gunicorn_serves_with_threads_so_slow_uploads_do_not_starve_it():
    """./gunicorn.conf.py as the image and compose read it (the drill: tests/reliability/test_slow_uploads.py)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WEB_", "GUNICORN"))}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "brokerage.wsgi"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    config = dict(
        (name.strip(), value.strip())
        for name, _, value in (line.partition("=") for line in result.stdout.splitlines())
    )
    assert config["worker_class"] == "gthread"
    assert int(config["threads"]) > 1 and int(config["timeout"]) >= 60
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["command"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in (command, dockerfile):  # nothing overrides the config file on the command line
        assert "--workers" not in line and "--worker-class" not in line and "--threads" not in line
