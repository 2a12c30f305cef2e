"""Shared by the reliability drills: where their figures go, and the machine they ran on."""

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability"


def record_figures(drill: str, figures: dict) -> None:
    """Write a drill's measurements for docs/RELIABILITY.md (test-artifacts/ is not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figures = {
        "drill": drill,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        **figures,
    }
    with (ARTIFACTS / f"{drill}.jsonl").open("a") as handle:
        handle.write(json.dumps(figures, default=str) + "\n")
    print(json.dumps(figures, default=str, indent=1))
