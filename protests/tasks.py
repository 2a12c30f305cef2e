"""Protest tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .decision_lists import protest_decision_list_apply
from .documents import protest_document_build
from .following import protests_deem_denied
from .models import ProtestDecisionList, ProtestDocument


@shared_task(acks_late=True)
def render_protest_document(document_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; look it up, then enter its scope
        document = ProtestDocument.objects.select_related("client", "protest").get(pk=document_id)
    with scope(client=document.client):
        protest_document_build(document=document)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=6,
)
def deem_denied_protests() -> int:
    """Daily: protests whose accelerated disposition was requested 30 days ago without a decision are denied."""
    return protests_deem_denied(today=timezone.localdate())


@shared_task(bind=True, acks_late=True)
def apply_protest_decision_list(self, upload_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; look it up, then claim it
        claimed = ProtestDecisionList.objects.filter(
            pk=upload_id, status=ProtestDecisionList.Status.PENDING
        ).update(status=ProtestDecisionList.Status.RUNNING)
        upload = ProtestDecisionList.objects.select_related("client", "protest", "created_by").get(
            pk=upload_id
        )
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if not claimed and not (redelivered and upload.status == ProtestDecisionList.Status.RUNNING):
        return  # done already, or another worker holds it; a message redelivered after its worker died goes on
    with scope(client=upload.client):
        protest_decision_list_apply(upload=upload)
