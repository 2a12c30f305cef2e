"""The client admin's authorization for the brokerage to file protests (its own words, its own checklist item)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients import audit
from clients.models import Client, User
from clients.onboarding.services import authorized_importer_numbers
from clients.tenancy import client_access_for

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


def _require_client_admin(actor: User, client: Client) -> None:
    access = client_access_for(actor, client)
    if access is None or not access.is_client_admin:
        raise ValidationError(
            "Only a client admin of the company can authorize the brokerage to file protests."
        )


def _checklist(client: Client, *, granted: bool, actor: User) -> None:
    from clients.onboarding.checklist import ItemKey, ItemStatus
    from clients.onboarding.services import _item_for_update, _set_status

    status = ItemStatus.DONE if granted else ItemStatus.NOT_STARTED
    _set_status(_item_for_update(client, ItemKey.PROTEST_AUTHORIZATION), status, actor=actor)


def protest_authorization_grant(
    *, actor: User, client: Client, importer_numbers: list[str], ip_address: str | None
) -> ProtestAuthorization:
    """A client admin authorizes the brokerage to file protests for these importer numbers; replaces any earlier one."""
    _require_client_admin(actor, client)
    numbers = authorized_importer_numbers(client=client, importer_numbers=importer_numbers)
    with transaction.atomic():
        for previous in ProtestAuthorization.objects.select_for_update().filter(
            client=client, revoked_at=None
        ):
            previous.revoked_by, previous.revoked_at = actor, timezone.now()
            previous.save(update_fields=["revoked_by", "revoked_at"])
        authorization = ProtestAuthorization.objects.create(
            client=client,
            importer_numbers=numbers,
            statement=authorization_statement(actor=actor, client=client, importer_numbers=numbers),
            granted_by=actor,
            granted_by_email=actor.email,
            granted_from_ip=ip_address,
        )
        _checklist(client, granted=True, actor=actor)
        audit.record(
            client=client,
            actor=actor,
            action="protests.authorization_granted",
            subject=authorization,
            data={"importer_numbers": numbers, "ip": ip_address},
        )
    return authorization


def protest_authorization_revoke(
    *, actor: User, client: Client, ip_address: str | None
) -> ProtestAuthorization:
    _require_client_admin(actor, client)
    with transaction.atomic():
        authorization = (
            ProtestAuthorization.objects.select_for_update().filter(client=client, revoked_at=None).first()
        )
        if authorization is None:
            raise ValidationError("There is no protest authorization in force to revoke.")
        authorization.revoked_by, authorization.revoked_at = actor, timezone.now()
        authorization.save(update_fields=["revoked_by", "revoked_at"])
        _checklist(client, granted=False, actor=actor)
        audit.record(
            client=client,
            actor=actor,
            action="protests.authorization_revoked",
            subject=authorization,
            data={"importer_numbers": authorization.importer_numbers, "ip": ip_address},
        )
    return authorization
