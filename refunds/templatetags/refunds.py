"""The CAPE part of pages: an entry's filing history and next action when rejected; a declaration's status."""

from django import template

from ..models import Declaration
from ..selectors import entry_ledger

register = template.Library()

# One colour per declaration status, for every page that shows one (claims list, batch, declaration).
DECLARATION_BADGES = {
    Declaration.Status.DRAFT: "text-bg-secondary",
    Declaration.Status.FILED: "text-bg-primary",
    Declaration.Status.ACCEPTED: "text-bg-success",
    Declaration.Status.PARTIALLY_REJECTED: "text-bg-danger",
    Declaration.Status.REJECTED: "text-bg-danger",
    Declaration.Status.DISCARDED: "text-bg-light border",
}


@register.inclusion_tag("refunds/_declaration_status.html")
def declaration_status_badge(declaration, element_id=""):
    return {
        "declaration": declaration,
        "badge_class": DECLARATION_BADGES.get(declaration.status, "text-bg-secondary"),
        "element_id": element_id,
    }


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
