"""Secrets and files at rest (issue 14, point 9): two-factor secrets are encrypted in the database (with a
key production must be given), and client files are private to the service user."""

import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings

from brokerage.encryption import decrypt_text, encrypt_text
from clients.onboarding import services as onboarding_services
from tests.factories import staff_user, with_totp

ROOT = Path(__file__).resolve().parent.parent


def test_totp_secret_and_recovery_seed_are_encrypted_in_the_database(db):
    user = staff_user(mfa=False)
    secret = with_totp(user)
    RecoveryCodes.activate(user)

    rows = {a.type: a.data for a in Authenticator.objects.filter(user=user)}

    stored = rows[Authenticator.Type.TOTP]["secret"]
    assert secret not in str(rows)
    assert stored.startswith("fernet:")
    assert decrypt_text(stored, keys=tuple(settings.MFA_ENCRYPTION_KEYS)) == secret
    assert rows[Authenticator.Type.RECOVERY_CODES]["seed"].startswith("fernet:")


def test_login_with_an_encrypted_totp_secret_still_works(client, db):
    from tests.factories import PASSWORD, totp_now

    user = staff_user(mfa=False)
    secret = with_totp(user)
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_demo_totp_prints_the_current_code(db):
    user = staff_user(mfa=False)
    secret = with_totp(user)
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("demo_totp", user.email, stdout=out)
    import time

    codes = {format_hotp_value(hotp_value(secret, int(time.time()) // 30 + d)) for d in (-1, 0, 1)}
    assert out.getvalue().strip() in codes


def test_a_secret_encrypted_with_another_key_is_refused():
    value = encrypt_text("JBSWY3DPEHPK3PXP", keys=("one key of enough length for the test",))
    with pytest.raises(ValueError, match="not configured"):
        decrypt_text(value, keys=("another key of enough length for it",))
    with pytest.raises(ValueError, match="not encrypted"):
        decrypt_text("JBSWY3DPEHPK3PXP", keys=("one key of enough length for the test",))


def test_rotated_keys_still_decrypt_old_secrets():
    old = encrypt_text("JBSWY3DPEHPK3PXP", keys=("the old key, long enough for a key",))
    assert decrypt_text(
        old, keys=("the new key, long enough for a key", "the old key, long enough for a key")
    ) == ("JBSWY3DPEHPK3PXP")


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_secrets_stored_in_plain_text():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("clients", "0005_importer_number_verification")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state([*before, ("mfa", "0003_authenticator_type_uniq")]).apps
    user = old.get_model("clients", "User").objects.create(email="old@example.com", password="!")
    old.get_model("mfa", "Authenticator").objects.create(
        user_id=user.pk, type="totp", data={"secret": "JBSWY3DPEHPK3PXP"}
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    stored = Authenticator.objects.get(user_id=user.pk).data["secret"]
    assert stored.startswith("fernet:")
    assert decrypt_text(stored, keys=tuple(settings.MFA_ENCRYPTION_KEYS)) == "JBSWY3DPEHPK3PXP"


def _check(**env):
    drop = (
        "SECRET_KEY",
        "MFA_ENCRYPTION_KEY",
        "DEBUG",
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("key", "message"), [(None, "must be set"), ("short", "at least 32")])
def test_production_refuses_to_start_without_a_good_mfa_key(key, message):
    env = {"DEBUG": "false", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "portal.example.com"}
    if key:
        env["MFA_ENCRYPTION_KEY"] = key
    result = _check(**env)
    assert result.returncode != 0 and "MFA_ENCRYPTION_KEY" in result.stderr and message in result.stderr


def test_uploaded_client_files_are_private_to_the_service_user(client_a, admin_a, tmp_path):
    root = tmp_path / "private"
    storages = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(root)}},
    }
    with override_settings(STORAGES=storages):
        from django.core.files.storage import storages as registry

        registry._storages.pop("default", None)
        try:
            from django_scopes import scope

            with scope(client=client_a):
                evidence = onboarding_services.evidence_add(
                    actor=admin_a,
                    client=client_a,
                    key="ace_account",
                    uploaded=SimpleUploadedFile("ace.pdf", b"%PDF-1.4 evidence"),
                )
                path = Path(evidence.file.path)
        finally:
            registry._storages.pop("default", None)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    folder = path.parent
    while folder != tmp_path:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        folder = folder.parent
