"""CBP's words for a protest decision, as they appear in a decision list. Pure."""

from domain.tabular import header_key

_WORDS = {
    "allowed": "allowed",
    "allow": "allowed",
    "approved": "allowed",
    "granted": "allowed",
    "a": "allowed",
    "partiallyallowed": "partially_allowed",
    "allowedinpart": "partially_allowed",
    "partiallyapproved": "partially_allowed",
    "partial": "partially_allowed",
    "p": "partially_allowed",
    "denied": "denied",
    "deny": "denied",
    "rejected": "denied",
    "disallowed": "denied",
    "d": "denied",
    "pending": "pending",
    "open": "pending",
    "underreview": "pending",
    "suspended": "pending",
}


def decision_of(text: str) -> str | None:
    """allowed / partially_allowed / denied / pending for CBP's word (case, spaces and punctuation aside)."""
    return _WORDS.get(header_key(text or ""))
