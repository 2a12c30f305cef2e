"""The README says how to run what bin/run and docker-compose.yml run (issue 15: a new user's first commands)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_names_the_port_variable_bin_run_reads():
    readme, run = (ROOT / "README.md").read_text(), (ROOT / "bin" / "run").read_text()
    variable = re.search(r"\$\{(\w+):-127\.0\.0\.1:8000\}", run).group(1)
    assert variable == "PORT"
    assert f"`{variable}=127.0.0.1:8080 bin/run`" in readme


def test_readme_runs_the_worker_and_beat_of_docker_compose_outside_docker():
    readme, compose = (ROOT / "README.md").read_text(), (ROOT / "docker-compose.yml").read_text()
    for role in ("worker", "beat"):
        assert f"celery -A brokerage {role}" in compose
        assert f".venv/bin/celery -A brokerage {role} " in readme
    assert "export DATABASE_URL=postgres://" in readme and "REDIS_URL=redis://" in readme
