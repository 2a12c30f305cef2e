"""A tally of the access cases the security tests check: each records (kind, url, role, status) once its
assertions have passed, and the run prints the totals (tests/security/conftest.py) and writes them to
test-artifacts/security-matrix.json, the figure docs/SECURITY.md quotes."""

import re
from collections import Counter

CASES: list[tuple[str, str, str, int]] = []


def record(kind: str, url: str, role: str, status: int) -> None:
    CASES.append((kind, url, role, status))


_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<=/)\d+(?=/)")


def summary() -> dict:
    """Totals; URLs are counted by shape (object ids differ from test to test)."""
    by_kind = Counter(kind for kind, *_ in CASES)
    return {
        "cases": len(CASES),
        "urls": len({_IDS.sub("<id>", url) for _, url, _, _ in CASES}),
        "roles": sorted({role for _, _, role, _ in CASES}),
        "by_kind": dict(sorted(by_kind.items())),
    }
