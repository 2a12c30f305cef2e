"""The Celery application; tasks live in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")


def route_task(name, args, kwargs, options, task=None, **kw):
    """The queue of a task's kind of work (settings.TASK_QUEUES); None: the default queue."""
    from django.conf import settings

    for kind, names in settings.TASK_QUEUES.items():
        if name in names:
            return {"queue": queue_name(kind)}
    return None


def queue_name(kind: str) -> str:
    from django.conf import settings

    return f"{settings.QUEUE_PREFIX}{kind}"


app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
