"""Shared by the reliability drills: where their figures go, the machine they ran on, and the large report."""

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench.ingest import _entry_number, generate_csv

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


ROWS = 200_000


IMPORTERS = ("27-418305200", "61-907734100")


def large_report(path: Path) -> None:
    """ROWS rows as bench/ingest.py makes them, the last few of them bad (so rejections are compared too)."""
    generate_csv(path, ROWS - 2, IMPORTERS)
    with path.open("r", newline="") as handle:
        handle.readline()
        good = handle.readline().rstrip("\r\n").split(",")
    stray, bad_duty = list(good), list(good)
    stray[0], stray[2] = _entry_number(10**6), "99-999999999"  # another importer's row
    bad_duty[0], bad_duty[10] = _entry_number(10**6 + 1), "n/a"
    with path.open("a", newline="") as handle:
        handle.write(",".join(stray) + "\r\n" + ",".join(bad_duty) + "\r\n")
