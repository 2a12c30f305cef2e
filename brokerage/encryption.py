"""Small secrets encrypted at rest (the two-factor secrets): Fernet (AES-128-CBC + HMAC-SHA256).

Keys are passphrases from the environment (`MFA_ENCRYPTION_KEY`, comma-separated: the first encrypts,
every one decrypts, so a key can be rotated in). Each is stretched to a Fernet key with SHA-256: use a
long random value (`python -c "import secrets; print(secrets.token_urlsafe(32))"`). Pure: no Django.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ValueError("No encryption key")
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())) for key in keys]
    )


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


def encrypt_text(text: str, *, keys: tuple[str, ...]) -> str:
    return PREFIX + _cipher(keys).encrypt(text.encode()).decode("ascii")


def decrypt_text(value: str, *, keys: tuple[str, ...]) -> str:
    """The plain text; refuses a value that is not encrypted (every stored secret is, since the migration)."""
    if not is_encrypted(value):
        raise ValueError("This secret is not encrypted")
    try:
        return _cipher(keys).decrypt(value[len(PREFIX) :].encode("ascii")).decode()
    except InvalidToken as error:
        raise ValueError("This secret was encrypted with a key that is not configured") from error
