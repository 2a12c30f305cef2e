"""Encrypt the two-factor secrets stored in plain text before PortalMFAAdapter (issue 14, point 9)."""

from django.conf import settings
from django.db import migrations

SECRET_FIELDS = ("secret", "seed")  # a TOTP key; a recovery-code seed


def _convert(apps, convert, wanted):
    from brokerage.encryption import is_encrypted

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all().iterator():
        data = dict(authenticator.data or {})
        changed = False
        for name in SECRET_FIELDS:
            value = data.get(name)
            if isinstance(value, str) and is_encrypted(value) != wanted:
                data[name] = convert(value)
                changed = True
        codes = data.get("migrated_codes")
        if isinstance(codes, list):
            new = [convert(c) if isinstance(c, str) and is_encrypted(c) != wanted else c for c in codes]
            if new != codes:
                data["migrated_codes"] = new
                changed = True
        if changed:
            authenticator.data = data
            authenticator.save(update_fields=["data"])


def encrypt_secrets(apps, schema_editor):
    from brokerage.encryption import encrypt_text

    keys = tuple(settings.MFA_ENCRYPTION_KEYS)
    _convert(apps, lambda value: encrypt_text(value, keys=keys), wanted=True)


def decrypt_secrets(apps, schema_editor):
    from brokerage.encryption import decrypt_text

    keys = tuple(settings.MFA_ENCRYPTION_KEYS)
    _convert(apps, lambda value: decrypt_text(value, keys=keys), wanted=False)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_importer_number_verification"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
