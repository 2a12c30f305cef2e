"""The import layers, checked on the source (AST, module-level and function-level imports alike).

`domain/` is the pure core every app may import: it imports the standard library, itself and the few
third-party libraries listed here, never Django and never a project package (docs/ARCHITECTURE.md).

Above it the packages depend one way, in the order of LAYERS: a module imports its own package and those
below it, never one above. Where a lower app needs a higher one it declares a hook that the higher app
provides from its AppConfig.ready() (brokerage/hooks.py; clients/hooks.py, entries/hooks.py,
refunds/hooks.py).
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


# The project's packages from the bottom up. tests/ and bench/ sit above all of them and are not checked.
LAYERS = ("domain", "brokerage", "clients", "entries", "refunds", "protests", "staff")
OUTSIDE_LAYERS = {"tests", "bench", "manage"}

# Imports that go up on purpose: (importing module, imported package) -> the reason.
ALLOWED_UPWARD = {
    ("brokerage.urls", "clients"): "the root URLconf composes every app's pages (the home page, invitations)",
    ("brokerage.urls", "entries"): "the root URLconf composes every app's pages (reminders, calendar feeds)",
}


def module_name(rel: Path) -> str:
    parts = rel.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def upward_imports(root: Path = ROOT, allowed: dict = ALLOWED_UPWARD) -> tuple[list[str], set]:
    """Every import of a higher layer by a lower one (not in `allowed`), and the `allowed` pairs seen."""
    rank = {package: i for i, package in enumerate(LAYERS)}
    problems, used = [], set()
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            module = module_name(rel)
            for line, imported in imported_modules(path, ".".join(rel.parent.parts)):
                top = imported.split(".")[0]
                if top not in rank or rank[top] <= rank[package]:
                    continue
                if (module, top) in allowed:
                    used.add((module, top))
                else:
                    problems.append(f"{rel}:{line} imports {imported} ({package} is below {top})")
    return problems, used


def test_no_layer_imports_a_higher_one():
    problems, used = upward_imports()
    assert problems == []
    assert set(ALLOWED_UPWARD) - used == set(), "an allowed upward import is gone: remove it from the list"


def test_every_project_package_has_a_layer():
    """A new top-level package must be placed in LAYERS (or the check would silently skip it)."""
    assert project_packages() - OUTSIDE_LAYERS == set(LAYERS)


@pytest.mark.parametrize(
    ("module", "source", "flagged"),
    [
        ("entries/views.py", "from refunds.selectors import interest_rate_table", True),
        ("entries/figures.py", "def f():\n    from refunds.models import DeclarationEntry", True),
        ("clients/urls.py", "from staff import views", True),
        ("clients/templatetags/words.py", "import protests.models", True),
        ("refunds/reconciliation.py", "class M:\n    def m(self):\n        import protests", True),
        ("brokerage/forms.py", "from clients.models import User", True),
        ("refunds/services.py", "from entries.models import Entry\nfrom clients import audit", False),
        ("staff/views.py", "from protests.models import Protest\nfrom . import selectors", False),
        ("entries/services.py", "from .models import Entry\nfrom ..clients import jobs", False),
        ("entries/views.py", "from django.db import models\nimport refunds_helper", False),
    ],
)
def test_layer_check_flags_what_it_should(tmp_path, module, source, flagged):
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n")
    problems, _ = upward_imports(tmp_path, allowed={})
    assert bool(problems) is flagged


# Another package's private names (a leading underscore) are its internals: import its public functions.
# Allowed on purpose, none today: (importing module, imported module) -> the reason.
ALLOWED_PRIVATE: dict[tuple[str, str], str] = {}


def private_imports(root: Path = ROOT, allowed: dict = ALLOWED_PRIVATE) -> tuple[list[str], set]:
    """Every import of another package's private name or module (not in `allowed`), and the `allowed` seen."""
    problems, used = [], set()
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            module = module_name(rel)
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    imported, names = node.module, [alias.name for alias in node.names]
                elif isinstance(node, ast.Import):
                    imported, names = None, [alias.name for alias in node.names]
                else:
                    continue
                for target in [f"{imported}.{name}" for name in names] if imported else names:
                    parts = target.split(".")
                    if parts[0] not in LAYERS or parts[0] == package:
                        continue
                    if not any(part.startswith("_") and not part.startswith("__") for part in parts):
                        continue
                    source = imported or target
                    if (module, source) in allowed:
                        used.add((module, source))
                    else:
                        problems.append(f"{rel}:{node.lineno} imports {target}, private to {parts[0]}")
    return problems, used


def test_no_package_imports_another_ones_private_names():
    problems, used = private_imports()
    assert problems == []
    assert set(ALLOWED_PRIVATE) - used == set(), "an allowed private import is gone: remove it from the list"


@pytest.mark.parametrize(
    ("module", "source", "flagged"),
    [
        ("staff/selectors.py", "def f():\n    from clients.onboarding.selectors import _load", True),
        ("protests/authorization.py", "from clients.onboarding.services import _set_status, grant", True),
        ("refunds/services.py", "import entries._internal.figures", True),
        ("staff/selectors.py", "from clients.onboarding.selectors import onboarding_records", False),
        ("clients/services.py", "from clients.onboarding.services import _set_status", False),
        ("entries/models.py", "from __future__ import annotations\nfrom . import _helpers", False),
    ],
)
def test_private_import_check_flags_what_it_should(tmp_path, module, source, flagged):
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n")
    problems, _ = private_imports(tmp_path, allowed={})
    assert bool(problems) is flagged
