"""The labels of every vocabulary a person reads, looked up where each vocabulary keeps them (docs/WORDING.md).

Each vocabulary keeps its codes and labels in one place; this module only gathers them for the template
filters (clients/templatetags/words.py), the audit export and anything else that writes for people. A code
without a label is humanized rather than shown raw. The vocabularies of apps above clients are registered
(register(), from their AppConfig.ready()).
"""

from collections.abc import Callable

from brokerage import words
from domain import entry_numbers

# The vocabularies kept by the apps above clients (entries, refunds): they register them from their
# AppConfig.ready(), because clients may not import them (tests/test_layers.py).
_registered: dict[str, Callable[[], dict[str, str]]] = {}


def register(name: str, labels: Callable[[], dict[str, str]]) -> None:
    """Make a higher app's vocabulary known here: labels() returns {code: label}, read on first use."""
    _registered[name] = labels
    _cache.clear()


def _registered_labels(name: str) -> dict[str, str]:
    return _registered[name]() if name in _registered else {}


def _vocabularies() -> dict[str, dict[str, str]]:
    # Imported on first use: this module is imported (by the template builtins) before the apps are ready.
    from domain.vocabulary import DEADLINE_LABELS, LIQUIDATION_STATUS_LABELS, PATH_LABELS, REASON_LABELS

    from .audit import ACTION_LABELS
    from .letters.kinds import LetterKind
    from .models import Job, Membership
    from .onboarding.checklist import AcePath, AchStatus, ItemStatus, Owner, SubAccountState, WindowStatus

    # The order is any_label's: the first vocabulary that knows a code names it.
    return {
        "path": {str(k): v for k, v in PATH_LABELS.items()},
        "reason": {str(k): v for k, v in REASON_LABELS.items()},
        "deadline": {str(k): v for k, v in DEADLINE_LABELS.items()},
        "liquidation": dict(LIQUIDATION_STATUS_LABELS),
        "program": _registered_labels("program"),
        "action": ACTION_LABELS,
        "job_status": dict(Job.Status.choices),
        "declaration_status": _registered_labels("declaration_status"),
        "item_status": dict(ItemStatus.choices),
        "ach_status": dict(AchStatus.choices),
        "ace_path": dict(AcePath.choices),
        "sub_account": dict(SubAccountState.choices),
        "window_status": dict(WindowStatus.choices),
        "owner": dict(Owner.choices),
        "role": dict(Membership.Role.choices),
        "letter_kind": dict(LetterKind.choices),
    }


_cache: dict[str, dict[str, str]] = {}


def label(code, vocabulary: str) -> str:
    """The label of a code in one vocabulary ("" for an empty code)."""
    if code is None or code == "":
        return ""
    if not _cache:
        _cache.update(_vocabularies())
    return _cache[vocabulary].get(str(code)) or words.humanize_code(str(code))


def any_label(code) -> str:
    """A code found in audit details, whose vocabulary is not said: the first vocabulary that knows it."""
    if not _cache:
        _cache.update(_vocabularies())
    text = str(code)
    for labels in _cache.values():
        if text in labels:
            return labels[text]
    return words.humanize_code(text) if words.CODE.match(text) else text


def path_label(code) -> str:
    return label(code, "path")


def reason_label(code) -> str:
    return label(code, "reason")


def deadline_label(code) -> str:
    return label(code, "deadline")


def liquidation_label(code) -> str:
    return label(code, "liquidation")


def program_label(code) -> str:
    return label(code, "program")


def action_label(code) -> str:
    return label(code, "action")


def entry_number(number) -> str:
    """FFF-NNNNNNN-C, as a person reads it (CBP's files and machine exports keep it undashed)."""
    return entry_numbers.display(str(number or ""))


def hts(digits) -> str:
    return words.hts(digits)


def possessive(name) -> str:
    return words.possessive(name)


def counted(count, forms: str) -> str:
    """{{ n|counted:"entry,entries" }} -> "1 entry", "2 entries"; {{ n|counted:"row" }} -> "2 rows"."""
    singular, _, plural_form = forms.partition(",")
    return words.plural(int(count or 0), singular, plural_form or None)


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict) and set(value) <= {"from", "to"}:
        return f"{_value_text(value.get('from'))} → {_value_text(value.get('to'))}"
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{words.humanize_code(str(k)).lower()}: {_value_text(v)}" for k, v in value.items())
    if value is None or value == "":
        return "—"
    text = str(value)
    if len(text) == 11 and entry_numbers.is_well_formed(text):
        return entry_numbers.display(text)
    return any_label(text) if words.CODE.match(text) or text.isalpha() and text.islower() else text


def audit_details(data) -> list[tuple[str, str]]:
    """An audit event's data as (label, value) pairs in words: {"item_status": {...}} -> ("Item status", "…")."""
    if not isinstance(data, dict):
        return []
    return [(_key_text(str(k)), _value_text(v)) for k, v in data.items()]


# Keys of audit details whose humanized form would read wrong.
_KEY_LABELS = {
    "ip": "IP address",
    "ip_address": "IP address",
    "company_name_5106": "Company name on Form 5106",
}


def _key_text(key: str) -> str:
    if key in _KEY_LABELS:
        return _KEY_LABELS[key]
    text = words.humanize_code(key) if words.CODE.match(key) else key
    return text[:1].upper() + text[1:]


def history_value(value, field) -> str:
    """A value of an entry's history line in words: a path's label, a flag as "drawback claimed: yes"."""
    text = str(value or "")
    if not text:
        return ""
    if field == "refund_path":
        return label(text, "path")
    if field == "flag" and ": " in text:
        key, _, state = text.partition(": ")
        return f"{_registered_labels('entry_flag').get(key) or words.humanize_code(key).lower()}: {state}"
    return any_label(text)
