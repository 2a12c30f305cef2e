"""Beat's scheduler: the queued-report sweeper runs in beat's own process, not as a message to a worker.

The sweeper (entries.ingestion.services.reports_sweep_queued) rescues imports that never reached a worker or whose
worker died. Sent as a task, it would run only when a worker is there to take it, i.e. never while the
worker it should rescue is the one missing. Run here, it queues those imports every few minutes whatever
state the workers are in, and whichever worker comes back (compose restarts a dead one) finds them in
Redis. The other scheduled jobs are still sent to the workers. docs/RELIABILITY.md, drill 6.
"""

import logging

from celery.beat import PersistentScheduler
from django.db import close_old_connections

logger = logging.getLogger(__name__)

RUN_IN_BEAT = frozenset({"entries.tasks.sweep_queued_reports"})


class Scheduler(PersistentScheduler):
    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        if entry.task not in RUN_IN_BEAT:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        entry = self.reserve(entry) if advance else entry
        # Beat is a long-lived process with no request cycle: drop a connection the database closed.
        close_old_connections()
        try:
            queued = self.app.tasks[entry.task](*(entry.args or ()), **(entry.kwargs or {}))
            logger.info("Swept queued reports in beat: %s queued again", queued)
        except Exception:  # the database is down: the next run tries again; beat must keep running
            logger.exception("The sweep of queued reports failed; it runs again at its next time")
        finally:
            close_old_connections()
        return None
