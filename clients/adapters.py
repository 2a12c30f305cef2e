from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings

from brokerage.encryption import decrypt_text, encrypt_text


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # People arrive only by invitation (clients.services.invitation_accept); there is no public sign-up.
        return False


class PortalMFAAdapter(DefaultMFAAdapter):
    """Two-factor secrets (TOTP keys, recovery-code seeds) are stored encrypted (MFA_ENCRYPTION_KEY)."""

    def encrypt(self, text: str) -> str:
        return encrypt_text(text, keys=tuple(settings.MFA_ENCRYPTION_KEYS))

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_text(encrypted_text, keys=tuple(settings.MFA_ENCRYPTION_KEYS))
