"""The Chapter 99 registry as stored in the database, turned into the pure module's Registry."""

import hashlib

from domain import chapter99

from .models import Chapter99Rule


def current_registry() -> chapter99.Registry:
    """The registry in force; its version changes whenever a rule does (a digest of the rules)."""
    rows = list(Chapter99Rule.objects.order_by("start", "end", "program", "id"))
    if not rows:
        return chapter99.DEFAULT_REGISTRY
    rules = tuple(
        chapter99.Chapter99Rule(
            program=r.program,
            start=r.start,
            end=r.end,
            carries_duty=r.carries_duty,
            effective_from=r.effective_from,
            effective_to=r.effective_to,
            source=r.source,
        )
        for r in rows
    )
    digest = hashlib.sha256(repr(rules).encode()).hexdigest()[:10]
    return chapter99.Registry(version=f"{chapter99.DEFAULT_REGISTRY.version}+{digest}", rules=rules)
