"""The Chapter 99 registry: which HTS numbers carry refundable IEEPA or Section 122 duty (spec §4).

Pure data and lookup, no Django. The default below is rule set data, not logic: staff will later edit a
stored copy, so everything that can change (ranges, dates, whether a number carries duty) is a field.
HTS numbers arrive as digits only (dots removed), 8 or 10 digits.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from domain.vocabulary import Program

PROGRAMS = tuple(Program)

# Lookups are keyed on the 8-digit Chapter 99 subheading; a rule narrower than 4 digits would expand
# to an index too large to be a sensible registry entry, so it is refused rather than silently slow.
_MIN_RULE_DIGITS = 4
_MAX_RULE_DIGITS = 10
_MAX_KEYS_PER_RULE = 100_000
_KEY_DIGITS = 8


@dataclass(frozen=True, slots=True)
class Chapter99Rule:
    """An inclusive range of HTS prefixes (equal-length digit strings) belonging to one program."""

    program: str
    start: str
    end: str
    carries_duty: bool
    effective_from: date | None
    effective_to: date | None
    source: str

    def __post_init__(self) -> None:
        if self.program not in PROGRAMS:
            raise ValueError(f"program must be one of {', '.join(PROGRAMS)}, not {self.program!r}")
        for bound in (self.start, self.end):
            if not bound.isdigit() or not _MIN_RULE_DIGITS <= len(bound) <= _MAX_RULE_DIGITS:
                raise ValueError(f"HTS bound {bound!r} must be {_MIN_RULE_DIGITS}-{_MAX_RULE_DIGITS} digits")
        if len(self.start) != len(self.end):
            raise ValueError(f"start {self.start!r} and end {self.end!r} must have the same number of digits")
        if self.start > self.end:
            raise ValueError(f"start {self.start!r} is after end {self.end!r}")
        if self.effective_from and self.effective_to and self.effective_from > self.effective_to:
            raise ValueError("effective_from is after effective_to")

    def covers(self, hts_digits: str) -> bool:
        return self.start <= hts_digits[: len(self.start)] <= self.end

    def in_effect(self, entry_date: date | None) -> bool:
        # An unknown date does not rule a number out: hiding duty that was paid is the worse mistake.
        if entry_date is None:
            return True
        if self.effective_from is not None and entry_date < self.effective_from:
            return False
        return self.effective_to is None or entry_date <= self.effective_to

    def index_keys(self) -> range:
        """The 8-digit prefixes this rule can match, as integers."""
        low = int(self.start[:_KEY_DIGITS].ljust(_KEY_DIGITS, "0"))
        high = int(self.end[:_KEY_DIGITS].ljust(_KEY_DIGITS, "9"))
        return range(low, high + 1)

    def width(self) -> int:
        """How many 10-digit numbers the range spans: narrower rules are more specific."""
        return int(self.end.ljust(_MAX_RULE_DIGITS, "9")) - int(self.start.ljust(_MAX_RULE_DIGITS, "0"))


@dataclass(frozen=True, slots=True)
class Registry:
    version: str
    rules: tuple[Chapter99Rule, ...]
    _index: dict[str, tuple[Chapter99Rule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # program_of runs once per tariff row for millions of rows, so candidate lists are built and
        # ordered here (most specific range first, then registry order) and a lookup is one dict get.
        buckets: dict[str, list[tuple[int, int, Chapter99Rule]]] = defaultdict(list)
        for position, rule in enumerate(self.rules):
            keys = rule.index_keys()
            if len(keys) > _MAX_KEYS_PER_RULE:
                raise ValueError(f"rule {rule.start}..{rule.end} is too broad for the Chapter 99 registry")
            for key in keys:
                buckets[f"{key:0{_KEY_DIGITS}d}"].append((rule.width(), position, rule))
        index = {key: tuple(rule for _, _, rule in sorted(found)) for key, found in buckets.items()}
        object.__setattr__(self, "_index", index)

    def rule_of(self, hts_digits: str | None, entry_date: date | None) -> Chapter99Rule | None:
        """The rule governing an HTS number on an entry of that date, or None (not refundable here)."""
        if not hts_digits:
            return None
        candidates = self._index.get(hts_digits[:_KEY_DIGITS])
        if candidates is None:
            return None
        for rule in candidates:
            if rule.covers(hts_digits) and rule.in_effect(entry_date):
                return rule
        return None

    def covers(self, hts_digits: str | None) -> bool:
        """Whether any rule covers the HTS number, whatever the date: if none does, rule_of is None always."""
        if not hts_digits:
            return False
        return any(rule.covers(hts_digits) for rule in self._index.get(hts_digits[:_KEY_DIGITS], ()))

    def program_of(self, hts_digits: str | None, entry_date: date | None) -> str | None:
        """ "ieepa", "section_122" or None for an HTS number on an entry of that date."""
        rule = self.rule_of(hts_digits, entry_date)
        return rule.program if rule else None


# IEEPA numbers and 9903.03.01 carry no date window: they existed only while their duties were collected
# (IEEPA 2025-02-04..2026-02-23, Section 122 2026-02-24..2026-07-23), so any duty reported under one was
# that program's duty; a window here could only hide money. An entry dated outside its program's period
# gets a staff warning instead (domain.deadlines.RuleSet, domain.classification.collection_warning).
# 9903.03.12-.16 are Section 338 duties on Canada (from 2026-08-22), not Section 122: absent, so not
# refundable here. Section 301 (9903.88, 9903.91), Section 232 (9903.80-85, 9903.94-96),
# AD/CVD and fees are deliberately absent: not refundable through this portal.
DEFAULT_REGISTRY = Registry(
    version="2026.2",
    rules=(
        Chapter99Rule(
            program="ieepa",
            start="99030100",
            end="99030199",
            carries_duty=True,
            effective_from=None,
            effective_to=None,
            source="IEEPA fentanyl/border duties (China, Hong Kong, Canada, Mexico): spec §4",
        ),
        Chapter99Rule(
            program="ieepa",
            start="99030200",
            end="99030299",
            carries_duty=True,
            effective_from=None,
            effective_to=None,
            source="IEEPA reciprocal duties, baseline and country-specific: spec §4",
        ),
        Chapter99Rule(
            program="section_122",
            start="99030301",
            end="99030301",
            carries_duty=True,
            effective_from=None,
            effective_to=None,
            source="Section 122 10% duty, entries 2026-02-24 through 2026-07-23, CSMS #67844987: spec §4",
        ),
        Chapter99Rule(
            program="section_122",
            start="99030302",
            end="99030311",
            carries_duty=False,
            effective_from=date(2026, 2, 24),
            effective_to=date(2026, 7, 23),
            source="Section 122 exemption declarations, no duty, CSMS #67844987: spec §4",
        ),
    ),
)
