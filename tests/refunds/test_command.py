"""`manage.py build_cape_files`: the files the preview would produce, nothing reserved."""

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from domain import cape
from refunds.models import DeclarationEntry
from refunds.planning import declaration_plan
from tests.entries.helpers import AS_OF
from tests.refunds.helpers import build, entry_number, make_entries


def run(*args) -> tuple[str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("build_cape_files", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_writes_the_preview_files_and_reserves_nothing(client_a, tmp_path):
    make_entries(client_a, 10001)
    make_entries(client_a, 1, start=20000, protest=True)

    out, err = run("--client", "client-a", "--as-of", "2026-11-23", "--output-dir", str(tmp_path / "out"))

    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["cape_client-a_20261123_all_01of02.csv", "cape_client-a_20261123_all_02of02.csv"]
    assert out.splitlines() == [
        f"{tmp_path / 'out' / names[0]}: 9999 entries",
        f"{tmp_path / 'out' / names[1]}: 2 entries",
    ]
    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=AS_OF)
        assert DeclarationEntry.objects.count() == 0
    for planned in plan.files:
        assert (tmp_path / "out" / planned.filename).read_bytes() == planned.file.content
        assert cape.validate_file(planned.file.content) == []
    assert "active protest" in err
    assert entry_number(20000) not in (tmp_path / "out" / names[0]).read_text()


def test_command_ignores_readiness_and_skips_reserved_entries(client_a, staff_a, tmp_path):
    make_entries(client_a, 2)
    build(client_a, staff_a)
    make_entries(client_a, 1, start=5)

    out, err = run("--client", "client-a", "--as-of", "2026-11-23", "--output-dir", str(tmp_path))

    assert out.strip().endswith(": 1 entries")
    assert "not ready to file" in err


def test_command_with_nothing_eligible_writes_nothing(client_a, tmp_path):
    out, err = run("--client", "client-a", "--as-of", "2026-11-23", "--output-dir", str(tmp_path))
    assert out == "" and "no file written" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ("--client", "nobody", "--as-of", "2026-11-23", "--output-dir", "x"),
        ("--client", "client-a", "--as-of", "11/23/2026", "--output-dir", "x"),
    ],
)
def test_command_errors(client_a, args):
    with pytest.raises(CommandError):
        run(*args)


def test_command_help_says_it_does_not_reserve(capsys):
    from refunds.management.commands.build_cape_files import Command

    assert "does not reserve" in Command.help
