"""The import layers, checked on the source (AST, module-level and function-level imports alike).

`domain/` is the pure core every app may import: it imports the standard library, itself and the few
third-party libraries listed here, never Django and never a project package (docs/ARCHITECTURE.md).
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Third-party libraries the core may use, each with its reason.
DOMAIN_THIRD_PARTY = {
    "openpyxl": "reads the XLSX reports (ES-003, CBP's answers) in read-only streaming mode",
}


def project_packages() -> set[str]:
    """Top-level packages of this repository (the apps, brokerage, tests, bench, ...), found on disk."""
    return {p.parent.name for p in ROOT.glob("*/__init__.py")} | {"manage"}


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in the file, at any depth; relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def domain_impurities(root: Path = ROOT) -> list[str]:
    """What under domain/ imports anything but the standard library, domain itself and DOMAIN_THIRD_PARTY."""
    allowed = set(sys.stdlib_module_names) | {"domain"} | set(DOMAIN_THIRD_PARTY)
    problems = []
    for path in sorted((root / "domain").rglob("*.py")):
        rel = path.relative_to(root)
        package = ".".join(rel.parent.parts)
        for line, module in imported_modules(path, package):
            top = module.split(".")[0]
            if top not in allowed:
                problems.append(f"{rel}:{line} imports {module}")
    return problems


def test_domain_imports_no_django_and_no_project_package():
    assert domain_impurities() == []


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import django", True),
        ("from django.conf import settings", True),
        ("def f():\n    from django_scopes import scope", True),
        ("from entries.models import Entry", True),
        ("from brokerage import words", True),
        ("import celery", True),
        ("from ... import entries", True),
        ("from domain.entry_numbers import canonical", False),
        ("from . import deadlines", False),
        ("import openpyxl\nfrom decimal import Decimal", False),
    ],
)
def test_domain_purity_check_flags_what_it_should(tmp_path, source, flagged):
    (tmp_path / "domain" / "sub").mkdir(parents=True)
    (tmp_path / "domain" / "sub" / "mod.py").write_text(source + "\n")
    assert bool(domain_impurities(tmp_path)) is flagged


def test_every_project_package_is_outside_the_domain_allow_list():
    """A new app (e.g. staff) is a project package, so the core may not import it either."""
    allowed = set(sys.stdlib_module_names) | set(DOMAIN_THIRD_PARTY)
    assert project_packages() - {"domain"} and not (project_packages() - {"domain"}) & allowed
