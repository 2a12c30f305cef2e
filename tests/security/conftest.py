import json
from pathlib import Path

from tests.security import ledger


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not ledger.CASES:
        return
    figures = ledger.summary()
    terminalreporter.write_sep("-", "tenant and access matrix")
    terminalreporter.write_line(
        f"{figures['cases']} URL x role cases checked and passed ({figures['urls']} distinct URLs, "
        f"{len(figures['roles'])} roles); failed cases are reported above as test failures"
    )
    for kind, count in figures["by_kind"].items():
        terminalreporter.write_line(f"  {kind}: {count}")
    out = Path(config.rootpath) / "test-artifacts" / "security-matrix.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
