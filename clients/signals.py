"""Security logging: failed logins and two-factor codes are recorded (allauth's rate limits slow them down)."""

import logging

from allauth.mfa.signals import authentication_failed
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("portal.security")


@receiver(user_login_failed)
def log_failed_login(sender, credentials, request=None, **kwargs):
    # The attempted login name and the address it came from; never the password.
    who = credentials.get("email") or credentials.get("username") or credentials.get("login") or "?"
    address = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
    logger.warning("Failed login for %s from %s", who, address)


@receiver(authentication_failed)
def log_failed_second_factor(sender, request=None, user=None, **kwargs):
    # A wrong TOTP or recovery code after a right password: someone may hold the password.
    address = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
    logger.warning("Failed two-factor code for %s from %s", getattr(user, "email", "?"), address)
