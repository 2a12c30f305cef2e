"""The client admin's authorization for the brokerage to file protests: its own words, model, checklist item.

Grant and revoke are the one implementation of clients.onboarding.authorizations (the CAPE filing
authorization uses it too); this module only says what is particular to protests.
"""

from __future__ import annotations

from django.conf import settings

from clients.models import Client, User
from clients.onboarding.authorizations import AuthorizationKind, authorization_grant, authorization_revoke
from clients.onboarding.checklist import ItemKey

from .models import ProtestAuthorization


def authorization_statement(*, actor: User, client: Client, importer_numbers: list[str]) -> str:
    who = f"{actor.full_name} <{actor.email}>" if actor.full_name else actor.email
    return (
        f"I, {who}, a client admin of {client.legal_name}, authorize {settings.BROKERAGE_NAME}, as our agent under "
        f"our customs power of attorney, to prepare and file protests (CBP Form 19, 19 U.S.C. 1514) in our name "
        f"with U.S. Customs and Border Protection against the liquidation of entries of importer number(s) "
        f"{', '.join(importer_numbers)}, to request their accelerated disposition and, for IEEPA-only protests, "
        f"to withdraw them so that the entries can be refunded through CAPE, until this authorization is revoked "
        f"in the portal."
    )


PROTEST = AuthorizationKind(
    model=ProtestAuthorization,
    item=ItemKey.PROTEST_AUTHORIZATION,
    name="protest authorization",
    refusal="Only a client admin of the company can authorize the brokerage to file protests.",
    granted_action="protests.authorization_granted",
    revoked_action="protests.authorization_revoked",
    statement=authorization_statement,
)


def protest_authorization_grant(
    *, actor: User, client: Client, importer_numbers: list[str], ip_address: str | None
) -> ProtestAuthorization:
    """A client admin authorizes the brokerage to file protests for these importer numbers; replaces any earlier one."""
    return authorization_grant(
        PROTEST, actor=actor, client=client, importer_numbers=importer_numbers, ip_address=ip_address
    )


def protest_authorization_revoke(
    *, actor: User, client: Client, ip_address: str | None
) -> ProtestAuthorization:
    return authorization_revoke(PROTEST, actor=actor, client=client, ip_address=ip_address)
