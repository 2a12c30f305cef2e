"""The deployment files and the settings' production guards."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_parses_and_names_the_six_services():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker", "beat", "mailpit"}
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        assert service["image"] == "ieepa-refund-portal"  # one image for all three
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://")
    assert "gunicorn" in compose["services"]["web"]["command"]
    assert "worker" in compose["services"]["worker"]["command"]
    assert "beat" in compose["services"]["beat"]["command"]


def _manage(*args, **env):
    # The test run's own variables must not leak into a check of production settings.
    drop = ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
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
