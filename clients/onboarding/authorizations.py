"""The authorizations a client admin gives the brokerage: one implementation of grant and revoke for each kind.

Two kinds exist, each with its own model, words, checklist item and audit actions: to file CAPE
declarations (FILING, here) and to file protests (protests.authorization.PROTEST, which adds its own words
and model). The rules are the same for both and live only here: a client admin of the company gives or
revokes it; it names at least one of the company's importer numbers; one is in force at a time (a new one
revokes the one before, recorded as replaced); grant, replacement and revocation are audited in the same
transaction; the kind's checklist item is done while one is in force.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from .. import audit
from ..models import Client, FilingAuthorization, ImporterNumber, User
from ..tenancy import client_access_for
from .checklist import ItemKey, ItemStatus
from .services import _item_for_update, _set_status


@dataclass(frozen=True)
class AuthorizationKind:
    model: type[models.Model]
    item: ItemKey  # the checklist item that is done while one is in force
    name: str  # in messages: "There is no <name> in force to revoke."
    refusal: str  # the message for anyone but a client admin
    granted_action: str  # audit actions, written out so tests/test_words.py finds them
    revoked_action: str
    statement: Callable[..., str]  # (actor=, client=, importer_numbers=) -> the words the admin agrees to


def filing_statement(*, actor: User, client: Client, importer_numbers: list[str]) -> str:
    who = f"{actor.full_name} <{actor.email}>" if actor.full_name else actor.email
    return (
        f"I, {who}, a client admin of {client.legal_name}, authorize {settings.BROKERAGE_NAME} to prepare and "
        f"file CAPE declarations with U.S. Customs and Border Protection for the entries of importer number(s) "
        f"{', '.join(importer_numbers)}, until this authorization is revoked in the portal."
    )


FILING = AuthorizationKind(
    model=FilingAuthorization,
    item=ItemKey.FILING_AUTHORIZATION,
    name="filing authorization",
    refusal="Only a client admin can give or revoke the filing authorization.",
    granted_action="onboarding.authorization_granted",
    revoked_action="onboarding.authorization_revoked",
    statement=filing_statement,
)


def authorized_importer_numbers(*, client: Client, importer_numbers: list[str]) -> list[str]:
    """The importer numbers an authorization names, sorted and unique: at least one, all of them the company's."""
    known = set(ImporterNumber.objects.filter(client=client).values_list("number", flat=True))
    numbers = sorted(set(importer_numbers))
    if not numbers:
        raise ValidationError({"importer_numbers": "Choose at least one importer number."})
    if set(numbers) - known:
        raise ValidationError({"importer_numbers": "Choose among the company's importer numbers."})
    return numbers


def _require_client_admin(kind: AuthorizationKind, actor: User, client: Client) -> None:
    access = client_access_for(actor, client)
    if access is None or not access.is_client_admin:
        raise ValidationError(kind.refusal)


def _revoke(
    kind: AuthorizationKind, authorization, *, actor: User, ip_address: str | None, reason: str
) -> None:
    authorization.revoked_by = actor
    authorization.revoked_at = timezone.now()
    fields = ["revoked_by", "revoked_at"]
    if hasattr(authorization, "revoked_from_ip"):  # the protest authorization has no column for it
        authorization.revoked_from_ip = ip_address
        fields.append("revoked_from_ip")
    authorization.save(update_fields=fields)
    audit.record(
        client=authorization.client,
        actor=actor,
        action=kind.revoked_action,
        subject=authorization,
        data={"importer_numbers": authorization.importer_numbers, "ip": ip_address, "reason": reason},
    )


def authorization_grant(
    kind: AuthorizationKind,
    *,
    actor: User,
    client: Client,
    importer_numbers: list[str],
    ip_address: str | None,
):
    """A client admin authorizes the brokerage for these importer numbers; replaces any earlier one."""
    _require_client_admin(kind, actor, client)
    numbers = authorized_importer_numbers(client=client, importer_numbers=importer_numbers)
    with transaction.atomic():
        for previous in kind.model.objects.select_for_update().filter(client=client, revoked_at=None):
            _revoke(kind, previous, actor=actor, ip_address=ip_address, reason="replaced")
        authorization = kind.model.objects.create(
            client=client,
            importer_numbers=numbers,
            statement=kind.statement(actor=actor, client=client, importer_numbers=numbers),
            granted_by=actor,
            granted_by_email=actor.email,
            granted_from_ip=ip_address,
        )
        _set_status(_item_for_update(client, kind.item), ItemStatus.DONE, actor=actor)
        audit.record(
            client=client,
            actor=actor,
            action=kind.granted_action,
            subject=authorization,
            data={"importer_numbers": numbers, "ip": ip_address},
        )
    return authorization


def authorization_revoke(kind: AuthorizationKind, *, actor: User, client: Client, ip_address: str | None):
    """A client admin revokes the authorization in force; the checklist item goes back to not started."""
    _require_client_admin(kind, actor, client)
    with transaction.atomic():
        authorization = kind.model.objects.select_for_update().filter(client=client, revoked_at=None).first()
        if authorization is None:
            raise ValidationError(f"There is no {kind.name} in force to revoke.")
        _revoke(kind, authorization, actor=actor, ip_address=ip_address, reason="revoked")
        _set_status(_item_for_update(client, kind.item), ItemStatus.NOT_STARTED, actor=actor)
    return authorization


def filing_authorization_grant(
    *, actor: User, client: Client, importer_numbers: list[str], ip_address: str | None
) -> FilingAuthorization:
    """A client admin authorizes the brokerage to file CAPE declarations for these importer numbers."""
    return authorization_grant(
        FILING, actor=actor, client=client, importer_numbers=importer_numbers, ip_address=ip_address
    )


def filing_authorization_revoke(
    *, actor: User, client: Client, ip_address: str | None
) -> FilingAuthorization:
    return authorization_revoke(FILING, actor=actor, client=client, ip_address=ip_address)
