"""Tests share builders and readers through helper modules, never by importing another test module.

Builders live in tests/factories.py and tests/<app>/helpers.py, readers in tests/ics.py and tests/html_tree.py,
the tenant matrix's world in tests/tenant_world.py. A test module imported by another drags its own
imports along, runs nothing but looks as if it did, and hides where a shared builder lives.
"""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def imported_test_modules(source: str, package: str) -> list[str]:
    """The `test_*` modules a module of `package` imports, at any depth of its code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            modules = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [m for m in modules if m.split(".")[-1].startswith("test_")]
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tests.refunds.test_declarations import make_entries", ["tests.refunds.test_declarations"]),
        ("from tests.refunds import test_declarations", ["tests.refunds.test_declarations"]),
        ("import tests.refunds.test_declarations", ["tests.refunds.test_declarations"]),
        ("from .test_reconciliation import process", ["tests.refunds.test_reconciliation"]),
        ("from . import test_reconciliation", ["tests.refunds.test_reconciliation"]),
        ("def f():\n    from tests.test_security import INLINE_SCRIPT", ["tests.test_security"]),
        ("from tests.refunds.helpers import make_entries", []),
        ("from tests.factories import member", []),
        ("from refunds.services import declaration_batch_build", []),
    ],
)
def test_imported_test_modules_finds_every_spelling(source, expected):
    assert imported_test_modules(source, "tests.refunds") == expected


def test_no_module_under_tests_imports_a_test_module():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS.parent).with_suffix("")
        package = ".".join(relative.parts[:-1])
        for module in imported_test_modules(path.read_text(encoding="utf-8"), package):
            offenders.append(f"{relative}: imports {module}")
    assert not offenders, "move the shared code to a helper module:\n" + "\n".join(offenders)
