"""The pure onboarding rules: readiness, stale items, what to do next, the calendar invitation."""

from datetime import UTC, date, datetime, timedelta

import pytest

from clients.onboarding.checklist import (
    AchStatus,
    ItemKey,
    ItemSnapshot,
    ItemStatus,
    OnboardingState,
    Owner,
    WindowSnapshot,
    WindowStatus,
    applicable_keys,
    evidence_type,
    next_step,
    progress,
    readiness,
    stale_findings,
)

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
TODAY = date(2026, 5, 4)
DONE, OPEN = ItemStatus.DONE, ItemStatus.IN_PROGRESS


def state(
    *,
    ace=ItemStatus.NOT_STARTED,
    ach=AchStatus.NOT_ENROLLED,
    authorized=None,
    special=None,
    **kwargs,
) -> OnboardingState:
    special = special or {}
    statuses = {ItemKey.ACE_ACCOUNT: ace, **special}
    items = tuple(
        ItemSnapshot(key, statuses.get(key, ItemStatus.NOT_STARTED)) for key in applicable_keys(set(special))
    )
    return OnboardingState(items=items, ach_status=ach, authorized_numbers=authorized, **kwargs)


NUMBERS = ("12-345678900",)


@pytest.mark.parametrize(
    ("ace", "ach", "authorized", "special", "ready", "missing"),
    [
        (DONE, AchStatus.ACTIVE, NUMBERS, None, True, []),
        (OPEN, AchStatus.ACTIVE, NUMBERS, None, False, ["ACE Portal account"]),
        (ItemStatus.NOT_APPLICABLE, AchStatus.ACTIVE, NUMBERS, None, False, ["ACE Portal account"]),
        (DONE, AchStatus.SUBMITTED, NUMBERS, None, False, ["ACH refund enrollment: submitted"]),
        (DONE, AchStatus.NOT_ENROLLED, NUMBERS, None, False, ["ACH refund enrollment: not enrolled"]),
        (DONE, AchStatus.REJECTED, NUMBERS, None, False, ["ACH refund enrollment: a refund was rejected"]),
        (DONE, AchStatus.ACTIVE, None, None, False, ["Filing authorization"]),
        (
            OPEN,
            AchStatus.NOT_ENROLLED,
            None,
            None,
            False,
            ["ACE Portal account", "ACH refund enrollment", "Filing authorization"],
        ),
        # The broker as 4811 notify party (enrolled in its own account) or a granted paper-check waiver
        # stands in for the importer's own ACH enrollment, but only once that special case is done.
        (DONE, AchStatus.NOT_ENROLLED, NUMBERS, {ItemKey.BROKER_NOTIFY_PARTY: DONE}, True, []),
        (DONE, AchStatus.NOT_ENROLLED, NUMBERS, {ItemKey.BROKER_NOTIFY_PARTY: OPEN}, False, ["ACH"]),
        (DONE, AchStatus.NOT_ENROLLED, NUMBERS, {ItemKey.PAPER_CHECK_WAIVER: DONE}, True, []),
        (DONE, AchStatus.NOT_ENROLLED, NUMBERS, {ItemKey.FOREIGN_IMPORTER: DONE}, False, ["ACH"]),
    ],
)
def test_readiness_table(ace, ach, authorized, special, ready, missing):
    result = readiness(state(ace=ace, ach=ach, authorized=authorized, special=special))
    assert result.ready is ready
    assert len(result.missing) == len(missing)
    for text, expected in zip(result.missing, missing, strict=True):
        assert text.startswith(expected)
    assert result.importer_numbers == (authorized or ())


def test_special_cases_appear_only_when_they_apply():
    assert ItemKey.VOIDED_ACCOUNT not in applicable_keys(set())
    keys = applicable_keys({ItemKey.VOIDED_ACCOUNT})
    assert ItemKey.VOIDED_ACCOUNT in keys and ItemKey.FOREIGN_IMPORTER not in keys
    assert keys[-1] == ItemKey.FILING_AUTHORIZATION


def test_progress_counts_done_and_not_applicable():
    s = state(ace=DONE, special={ItemKey.VOIDED_ACCOUNT: ItemStatus.NOT_APPLICABLE})
    assert progress(s) == (2, 6)


def _rules(s):
    return sorted((f.key, f.rule, f.owner) for f in stale_findings(s, now=NOW, today=TODAY))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"ach": AchStatus.SUBMITTED, "ach_submitted_at": NOW - timedelta(days=15)},
            [("ach_enrollment", "ach_pending", "client")],
        ),
        ({"ach": AchStatus.SUBMITTED, "ach_submitted_at": NOW - timedelta(days=13)}, []),
        ({"ach": AchStatus.ACTIVE, "ach_submitted_at": NOW - timedelta(days=40)}, []),
        (
            {
                "window": WindowSnapshot(
                    WindowStatus.CONFIRMED, NOW - timedelta(hours=3), NOW - timedelta(hours=2)
                )
            },
            [("ace_account", "window_missed", "client")],
        ),
        (
            {
                "ace": DONE,
                "window": WindowSnapshot(
                    WindowStatus.CONFIRMED, NOW - timedelta(hours=3), NOW - timedelta(hours=2)
                ),
            },
            [],
        ),
        (
            {
                "window": WindowSnapshot(
                    WindowStatus.CONFIRMED, NOW + timedelta(hours=3), NOW + timedelta(hours=4)
                )
            },
            [],
        ),
        (
            {
                "window": WindowSnapshot(
                    WindowStatus.PROPOSED, NOW + timedelta(hours=5), NOW + timedelta(hours=6)
                )
            },
            [("form_5106", "window_unconfirmed", "broker")],
        ),
        (
            {
                "window": WindowSnapshot(
                    WindowStatus.PROPOSED, NOW + timedelta(days=3), NOW + timedelta(days=3)
                )
            },
            [],
        ),
    ],
)
def test_stale_rules_table(kwargs, expected):
    assert _rules(state(**kwargs)) == expected


def test_stale_overdue_and_long_blocked_items():
    items = (
        ItemSnapshot(ItemKey.ACE_ACCOUNT, OPEN, Owner.CLIENT, due_date=TODAY - timedelta(days=1)),
        ItemSnapshot(ItemKey.FORM_5106, DONE, Owner.CLIENT, due_date=TODAY - timedelta(days=9)),
        ItemSnapshot(ItemKey.SUB_ACCOUNT, OPEN, Owner.CLIENT, due_date=TODAY),
        ItemSnapshot(
            ItemKey.ACH_ENROLLMENT,
            ItemStatus.BLOCKED,
            Owner.BROKER,
            status_changed_at=NOW - timedelta(days=8),
        ),
        ItemSnapshot(
            ItemKey.FILING_AUTHORIZATION, ItemStatus.BLOCKED, status_changed_at=NOW - timedelta(days=6)
        ),
    )
    findings = stale_findings(OnboardingState(items=items), now=NOW, today=TODAY)
    assert [(f.key, f.rule, f.owner) for f in findings] == [
        ("ace_account", "overdue", "client"),
        ("ach_enrollment", "blocked", "broker"),
    ]
    assert "was due on May 3, 2026" in findings[0].message
    assert "blocked for 8 days" in findings[1].message


@pytest.mark.parametrize(
    ("kwargs", "key", "text"),
    [
        ({}, "ace_account", "Choose how you get your ACE Portal account"),
        ({"ace_path": "new_application"}, "ace_account", "Next ACE step: Have the importer-of-record number"),
        (
            {"ace_path": "ein_linked", "ace_steps_done": frozenset({"tao_identified"})},
            "ace_account",
            "Next ACE step: Check the account is active",
        ),
        ({"ace": DONE}, "form_5106", "Enter the company name exactly as on your CBP Form 5106"),
        ({"ace": DONE, "has_5106_details": True}, "form_5106", "Propose a time"),
    ],
)
def test_next_step_names_the_concrete_action(kwargs, key, text):
    step = next_step(state(**kwargs))
    assert step.key == key
    assert step.text.startswith(text)


def test_next_step_is_none_when_everything_is_closed():
    items = tuple(ItemSnapshot(key, DONE) for key in applicable_keys(set()))
    assert next_step(OnboardingState(items=items)) is None


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", ("application/pdf", "pdf")),
        (b"\x89PNG\r\n\x1a\n\x00", ("image/png", "png")),
        (b"\xff\xd8\xff\xe0", ("image/jpeg", "jpg")),
        (b"<html><script>", None),
        (b"PK\x03\x04", None),
    ],
)
def test_evidence_type_comes_from_the_content(head, expected):
    assert evidence_type(head) == expected
