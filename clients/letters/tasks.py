"""Letter rendering tasks: ids in, fetch, enter the client's scope, one service call.

Each keeps the name it was registered under before the package (clients.letters_tasks.*): queued
messages, the beat schedule and settings.TASK_QUEUES name tasks by it.
"""

import logging
import time

from celery import shared_task
from celery.signals import worker_init

from brokerage.queueing import ScopedTask

from ..models import Letter, LetterBatch
from .services import letter_batch_build, letter_build, letter_pdf

logger = logging.getLogger(__name__)


@shared_task(name="clients.letters_tasks.render_letter", base=ScopedTask, bind=True, acks_late=True)
def render_letter(self, letter_id: int) -> None:
    with self.client_scope(Letter, letter_id) as letter:
        letter_build(letter=letter)


@shared_task(name="clients.letters_tasks.render_letter_batch", acks_late=True)
def render_letter_batch(batch_id: int) -> None:
    letter_batch_build(batch=LetterBatch.objects.get(pk=batch_id))


@worker_init.connect
def warm_up_pdf_rendering(**kwargs) -> None:
    """Load WeasyPrint and the fonts once per worker, so the first letter renders as fast as the rest."""
    started = time.monotonic()
    letter_pdf("<p>warm-up</p>")
    logger.warning(
        "PDF rendering ready: WeasyPrint and its fonts loaded in %.0f ms", (time.monotonic() - started) * 1000
    )
