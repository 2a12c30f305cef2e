"""Writing the audit trail. Services call record() inside their own transaction."""

from typing import Any

from django.db import models

from .models import AuditEvent, Client, User


def record(
    *,
    client: Client,
    actor: User | None,
    action: str,
    subject: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        client=client,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        subject_repr=str(subject)[:200] if subject is not None else "",
        data=data or {},
    )
