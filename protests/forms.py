import re
from decimal import Decimal

from django import forms
from django.utils import timezone

from brokerage.forms import no_account_numbers
from domain.es003.values import parse_money
from domain.tabular import InvalidValue

from .models import Protest


class BuildForm(forms.Form):
    as_of = forms.DateField(
        label="As of",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The day the 180 days are counted to and interest is estimated up to.",
    )

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of > timezone.localdate():
            raise forms.ValidationError("Choose today or an earlier day.")
        return as_of


class DescriptionForm(forms.Form):
    merchandise_description = forms.CharField(
        validators=[no_account_numbers],
        label="Description of the merchandise",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="19 CFR 174.13(a)(5): a specific description. Built from the entries' HTS numbers; refine it.",
    )


class EntryNumberForm(forms.Form):
    entry_number = forms.CharField(label="Entry number", max_length=20)


class FilingForm(forms.Form):
    protest_number = forms.CharField(
        label="Protest number", max_length=40, help_text="As ACE's Protest module gave it."
    )
    filed_on = forms.DateField(label="Filed on", widget=forms.DateInput(attrs={"type": "date"}))
    filed_by_party = forms.ChoiceField(label="Filed by", choices=Protest.Filer.choices)
    override_reason = forms.CharField(
        validators=[no_account_numbers],
        label="Override reason (staff managers only)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only when the client has not authorized the brokerage to file protests: why it is recorded anyway.",
    )


class AcceleratedForm(forms.Form):
    requested_on = forms.DateField(
        label="Accelerated disposition requested on", widget=forms.DateInput(attrs={"type": "date"})
    )


_DECISION_LINE = re.compile(r"\s*([A-Za-z0-9-]+)[\s,;]*(.*?)\s*")  # an entry number, then maybe an amount
DECISIONS = [("allowed", "Allowed"), ("partially_allowed", "Partially allowed"), ("denied", "Denied")]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="CBP's decision", choices=DECISIONS)
    decided_on = forms.DateField(label="Decided on", widget=forms.DateInput(attrs={"type": "date"}))
    entry_numbers = forms.CharField(
        label="Entries (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One entry number per line; empty: every entry still pending. Partially allowed: each line "
        "an entry number, then the amount CBP allowed (e.g. ABC-0000000-2 1,250.00).",
    )

    def clean_entry_numbers(self) -> list[tuple[str, Decimal | None]]:
        """(entry number, amount allowed or None) per line."""
        lines = []
        for line in self.cleaned_data["entry_numbers"].splitlines():
            match = _DECISION_LINE.fullmatch(line)
            if not match:
                continue
            number, amount = match.groups()
            try:
                lines.append((number, parse_money(amount.strip(), "amount allowed")))
            except InvalidValue as error:
                raise forms.ValidationError(f"{number}: {error.reason}") from error
        return lines

    def service_arguments(self) -> dict:
        """What protests.following.protest_decide takes from the form."""
        data = self.cleaned_data
        lines = data["entry_numbers"]
        return {
            "decision": data["decision"],
            "decided_on": data["decided_on"],
            "entry_numbers": [number for number, _ in lines] or None,
            "allowed_amounts": {number: amount for number, amount in lines if amount is not None},
        }


class DecisionListForm(forms.Form):
    file = forms.FileField(
        label="CBP's decision list",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
        help_text="CSV or Excel with an entry number and a decision column (header names as CBP writes them).",
    )
