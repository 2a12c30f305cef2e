"""The hooks through which a higher app gives a lower one what it keeps (brokerage.hooks; tests/test_layers.py).

A hook left unprovided does not fail: the lower app silently does without. So every hook declared in an app's
hooks.py must be provided once the apps are ready, and what they give must reach the pages' words.
"""

import importlib

import pytest

from brokerage.hooks import Hook
from clients.vocabulary import any_label, history_value, label

HOOK_MODULES = ("clients.hooks", "entries.hooks", "refunds.hooks")


def declared_hooks():
    for name in HOOK_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, Hook):
                yield value


@pytest.mark.parametrize("hook", list(declared_hooks()), ids=lambda hook: hook.name)
def test_every_declared_hook_is_provided(hook):
    assert hook.function is not None, f"{hook.name}: no app provides it in its AppConfig.ready()"


def test_every_hook_module_is_checked():
    """A new hooks.py in an app must be listed in HOOK_MODULES."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = {
        f"{path.parent.name}.hooks" for path in root.glob("*/hooks.py") if path.parent.name != "brokerage"
    }
    assert found == set(HOOK_MODULES)


def test_a_hook_gives_its_default_until_provided_and_refuses_a_second_provider():
    hook = Hook("test.hook", default={})
    assert hook(client=None) == {}
    hook.provide(lambda **kwargs: {"figures": 1})
    assert hook(client=None) == {"figures": 1}
    with pytest.raises(RuntimeError):
        hook.provide(lambda **kwargs: {})


@pytest.mark.parametrize(
    ("code", "vocabulary", "words"),
    [
        ("section_122", "program", "Section 122"),  # entries registers the Chapter 99 programs
        ("partially_rejected", "declaration_status", "Accepted with Error(s)"),  # refunds, declarations
    ],
)
def test_higher_apps_vocabularies_reach_the_words(code, vocabulary, words):
    assert label(code, vocabulary) == words


def test_entry_flags_in_history_read_as_words():
    assert history_value("surety_paid: yes", "flag") == "surety paid the IEEPA duty: yes"
    assert any_label("partially_rejected") == "Accepted with Error(s)"
