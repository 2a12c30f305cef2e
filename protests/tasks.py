"""Protest tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from brokerage.queueing import RETRY_ON_DATABASE_GONE, ScopedTask

from .decision_lists import protest_decision_list_apply
from .documents import protest_document_build
from .following import protests_deem_denied
from .models import ProtestDecisionList, ProtestDocument


@shared_task(base=ScopedTask, bind=True, acks_late=True)
def render_protest_document(self, document_id: int) -> None:
    with self.client_scope(ProtestDocument, document_id, related=("protest",)) as document:
        protest_document_build(document=document)


@shared_task(acks_late=True, **RETRY_ON_DATABASE_GONE)
def deem_denied_protests() -> int:
    """Daily: protests whose accelerated disposition was requested 30 days ago without a decision are denied."""
    return protests_deem_denied(today=timezone.localdate())


@shared_task(base=ScopedTask, bind=True, acks_late=True)
def apply_protest_decision_list(self, upload_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; claim the upload by id
        claimed = ProtestDecisionList.objects.filter(
            pk=upload_id, status=ProtestDecisionList.Status.PENDING
        ).update(status=ProtestDecisionList.Status.RUNNING)
    with self.client_scope(ProtestDecisionList, upload_id, related=("protest", "created_by")) as upload:
        if not claimed and not (self.redelivered and upload.status == ProtestDecisionList.Status.RUNNING):
            return  # done already, or another worker holds it; a message redelivered after its worker died goes on
        protest_decision_list_apply(upload=upload)
