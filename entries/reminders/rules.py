"""Deadline reminders, the rules: which deadlines matter, which thresholds fire, what is critical.

Pure: plain values in, plain values out. The daily scan applies the same thresholds inside the database
(reminders.services.threshold_expression) and the tests check both against these functions.
"""

from domain.vocabulary import DEADLINE_LABELS

THRESHOLDS = (30, 14, 7, 2)  # days before a deadline
CRITICAL_DAYS = 7  # reminders at 7 and 2 days cannot be switched off
ESCALATION_DAYS = 7  # the client has not acted a week before: the assigned staff hear about it


def threshold_for(days_left: int) -> int | None:
    """The reminder due with `days_left` days to go: the smallest threshold not below it.

    A day the job missed is caught up (29 days left still sends the 30-day reminder if it was not sent);
    the record of sent reminders keeps each threshold to one email.
    """
    if days_left < 0 or days_left > THRESHOLDS[0]:
        return None
    return min(t for t in THRESHOLDS if t >= days_left)


def is_critical(threshold: int) -> bool:
    return threshold <= CRITICAL_DAYS


def needs_escalation(days_left: int, *, acted: bool) -> bool:
    return not acted and 0 <= days_left <= ESCALATION_DAYS


def deadline_label(kind: str) -> str:
    return DEADLINE_LABELS.get(kind, kind)
