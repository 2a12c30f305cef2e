"""The daily stale-onboarding digest: one email per person a day with the items that have stalled."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from .. import audit
from ..emails import send_templated
from ..models import Client, OnboardingDigest, User
from .checklist import Finding, Owner
from .selectors import stale_findings_with_contacts
from .services import _checklist_url

logger = logging.getLogger(__name__)


def stale_digests_send(*, now: datetime) -> int:
    """One digest email per person with stale onboarding items today; returns how many went out.

    Client admins hear about the items their company owns; assigned staff about every item of their
    clients. A person gets at most one digest a day (OnboardingDigest), however often this runs.
    """
    today = timezone.localdate(now)
    plan: dict[int, tuple[User, dict[int, tuple[Client, list[Finding]]]]] = {}
    for entry in stale_findings_with_contacts(now=now, today=today):
        client_owned = [f for f in entry.findings if f.owner == Owner.CLIENT]
        audiences = [(user, client_owned) for user in entry.admins] + [
            (user, entry.findings) for user in entry.staff
        ]
        for user, findings in audiences:
            if findings:
                plan.setdefault(user.pk, (user, {}))[1][entry.client.pk] = (entry.client, findings)
    sent = 0
    for user, by_client in plan.values():
        sent += _send_digest(user=user, sections=list(by_client.values()), day=today)
    return sent


def _send_digest(*, user: User, sections: list[tuple[Client, list[Finding]]], day) -> bool:
    try:
        with transaction.atomic():
            _, created = OnboardingDigest.objects.get_or_create(
                recipient=user,
                day=day,
                defaults={
                    "findings": [
                        {"client": client.slug, "item": f.key, "rule": f.rule}
                        for client, fs in sections
                        for f in fs
                    ]
                },
            )
            if not created:
                return False
            for client, findings in sections:
                with scope(client=client):
                    audit.record(
                        client=client,
                        actor=None,
                        action="onboarding.stale_digest_sent",
                        data={"to": user.email, "items": [{"item": f.key, "rule": f.rule} for f in findings]},
                    )
            # Inside the transaction: if the mail server refuses, no row is kept and the next run retries.
            send_templated(
                "onboarding_stale_digest",
                to=[user.email],
                context={
                    "recipient": user,
                    "sections": [
                        {"client": client, "findings": findings, "link": _checklist_url(client)}
                        for client, findings in sections
                    ],
                },
            )
    except Exception:
        logger.exception("The onboarding digest to user %s could not be sent", user.pk)
        return False
    return True
