"""The job-row pattern: the lifecycle every long job (uploads, exports, letters) goes through.

Tasks call these; pages read the row. Progress writes are throttled by the caller (e.g. every N rows),
and each is a single UPDATE so a page polling the row sees it at once.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import Job


def job_claim(
    jobs, *, pk: int, redelivered: bool, max_attempts: int, give_up: Callable[[Job], None]
) -> Job | None:
    """The job row to run now, marked running; None when it is finished, another worker has it, or it is given up.

    A message the broker delivered again after its worker died (redelivered; an import's lease says the
    same) may take over a row left running; another message for a row that is running leaves it to its
    worker. Every run that starts counts an attempt (job_start) and every run that ends marks the row
    finished, so a row claimed while still running with max_attempts counted was left by dead runs only
    (a file that kills its worker, say): give_up(job) fails it, with its message, instead of starting it
    again. jobs: the model's rows (inside scopes_disabled for a tenant's, as the id alone does not tell
    the client).
    """
    statuses = [Job.Status.PENDING, *([Job.Status.RUNNING] if redelivered else [])]
    if not jobs.filter(pk=pk, status__in=statuses).update(status=Job.Status.RUNNING):
        return None
    job = jobs.get(pk=pk)
    if job.attempts >= max_attempts:
        give_up(job)
        return None
    return job


def job_start(job: Job, *, total: int | None = None) -> None:
    job.status = Job.Status.RUNNING
    job.started_at = timezone.now()
    job.finished_at = None
    job.attempts += 1
    job.total_count = total
    job.done_count = 0
    job.progress = 0
    job.message = ""
    job.save(
        update_fields=[
            "status",
            "started_at",
            "finished_at",
            "attempts",
            "total_count",
            "done_count",
            "progress",
            "message",
        ]
    )


def job_progress(job: Job, *, done: int, total: int | None = None, message: str | None = None) -> None:
    job.done_count = done
    if total is not None:
        job.total_count = total
    if job.total_count:
        job.progress = min(99, int(100 * done / job.total_count))
    fields = ["done_count", "total_count", "progress"]
    if message is not None:
        job.message = message
        fields.append("message")
    type(job).objects.filter(pk=job.pk).update(**{f: getattr(job, f) for f in fields})


def job_succeed(job: Job, *, message: str = "") -> None:
    job.status = Job.Status.SUCCEEDED
    job.progress = 100
    if job.total_count is not None:
        job.done_count = job.total_count
    job.message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "done_count", "message", "finished_at"])


def job_fail(job: Job, *, message: str) -> None:
    # The failure must be recorded even when the work's own transaction was rolled back.
    with transaction.atomic():
        job.status = Job.Status.FAILED
        job.message = message
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
