"""The CAPE part of other apps' pages: an entry's filing history and its next action when rejected."""

from django import template

from ..selectors import entry_ledger

register = template.Library()


@register.inclusion_tag("refunds/_entry_ledger.html")
def entry_cape_ledger(entry):
    """For the entry page; runs in the client's scope like the page itself."""
    rows = entry_ledger(entry=entry)
    latest = rows[0] if rows else None
    return {
        "rows": rows,
        "rejected": latest if latest and latest.status == "rejected" else None,
        "entry": entry,
    }
