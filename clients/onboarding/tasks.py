"""Onboarding's periodic tasks (CELERY_BEAT_SCHEDULE): code-window reminders and the daily stale digest.

Thin: ids in, fetch with scopes disabled, enter the client's scope, one service call.

Each keeps the name it was registered under before the package (clients.onboarding_tasks.*): queued
messages, the beat schedule and settings.TASK_QUEUES name tasks by it.
"""

import logging

from celery import shared_task
from django.utils import timezone

from brokerage.queueing import ScopedTask

from ..models import CodeWindow
from .code_window import code_window_send_reminder
from .digests import stale_digests_send
from .selectors import code_window_ids_due_for_reminder

logger = logging.getLogger(__name__)


@shared_task(name="clients.onboarding_tasks.send_due_code_window_reminders", acks_late=True)
def send_due_code_window_reminders() -> int:
    """Every few minutes: one reminder task per confirmed code window that starts soon."""
    ids = code_window_ids_due_for_reminder(now=timezone.now())
    for window_id in ids:
        send_code_window_reminder.delay(window_id)
    return len(ids)


@shared_task(
    name="clients.onboarding_tasks.send_code_window_reminder",
    base=ScopedTask,
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=3,
)
def send_code_window_reminder(self, window_id: int) -> bool:
    with self.client_scope(CodeWindow, window_id) as window:
        return code_window_send_reminder(window=window, now=timezone.now())


@shared_task(name="clients.onboarding_tasks.send_stale_onboarding_digests", acks_late=True)
def send_stale_onboarding_digests() -> int:
    """Daily: one digest per person with stale onboarding items; running it twice a day sends nothing twice."""
    sent = stale_digests_send(now=timezone.now())
    logger.info("Onboarding stale digests sent: %d", sent)
    return sent
