"""One source per domain vocabulary (domain.vocabulary): the readers and rules use its words, and each word
has the label a person reads (pure, no database)."""

import pytest

from domain import eligibility
from domain.es003 import values
from domain.vocabulary import (
    ACE_STATUS_WORDS,
    DEADLINE_LABELS,
    LIQUIDATED_STATUSES,
    LIQUIDATION_STATUS_LABELS,
    LIQUIDATION_STATUSES,
    OPEN_STATUSES,
    PATH_LABELS,
    REASON_LABELS,
    REMINDED_DEADLINE_KINDS,
    DeadlineKind,
    Reason,
    RefundPath,
)


@pytest.mark.parametrize("word", sorted(values._STATUS_WORDS))
def test_every_status_word_of_a_report_reads_as_a_known_liquidation_status(word):
    status = values.parse_liquidation_status(word)
    assert status in LIQUIDATION_STATUSES
    assert LIQUIDATION_STATUS_LABELS[status]


def test_statuses_are_open_or_liquidated_and_never_both():
    assert OPEN_STATUSES | LIQUIDATED_STATUSES == set(LIQUIDATION_STATUSES)
    assert not OPEN_STATUSES & LIQUIDATED_STATUSES


def test_the_cape_paths_of_eligibility_are_refund_paths():
    assert set(eligibility.CAPE_PATHS) == {RefundPath.CAPE_PHASE1, RefundPath.CAPE_PHASE2}


@pytest.mark.parametrize(
    ("vocabulary", "labels"),
    [
        (list(RefundPath), PATH_LABELS),
        ([r for r in Reason if r], REASON_LABELS),
        ([k for k in DeadlineKind if k], DEADLINE_LABELS),
        (list(LIQUIDATION_STATUSES), LIQUIDATION_STATUS_LABELS),
    ],
    ids=["paths", "reasons", "deadline kinds", "liquidation statuses"],
)
def test_every_word_has_a_label_and_no_label_is_for_an_unknown_word(vocabulary, labels):
    assert set(labels) == set(vocabulary)
    assert all(text.strip() for text in labels.values())


@pytest.mark.parametrize("status", LIQUIDATION_STATUSES)
def test_aces_word_for_each_status_reads_back_as_that_status(status):
    """The broker-wide routing writes each client's share with these words; the import must read them back."""
    assert values.parse_liquidation_status(ACE_STATUS_WORDS[status]) == status


def test_the_reminded_deadlines_are_deadline_kinds():
    assert set(REMINDED_DEADLINE_KINDS) < {str(k) for k in DeadlineKind if k}
