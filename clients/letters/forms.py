"""Forms for request letters: one form whose fields follow the kind, and the manager's batch form."""

from django import forms
from django.core.exceptions import ValidationError

from brokerage.forms import no_account_numbers

from ..models import Client, ior_validator
from .kinds import ENTRY_NUMBER_KINDS, SPECS, LetterKind, detail_lines, entry_number_problems
from .services import BATCH_KINDS


class LetterForm(forms.Form):
    company_name = forms.CharField(
        validators=[no_account_numbers],
        label="Company name",
        max_length=200,
        help_text="Exactly as on the original ACE application (Form 5106).",
    )
    address_line1 = forms.CharField(
        validators=[no_account_numbers], label="Address", max_length=200, required=False
    )
    address_line2 = forms.CharField(
        validators=[no_account_numbers], label="Address (line 2)", max_length=200, required=False
    )
    city = forms.CharField(validators=[no_account_numbers], label="City", max_length=100, required=False)
    state = forms.CharField(label="State", max_length=50, required=False)
    postal_code = forms.CharField(label="ZIP code", max_length=20, required=False)
    importer_numbers = forms.CharField(
        label="Importer numbers (one per line)", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    signer_name = forms.CharField(validators=[no_account_numbers], label="Signed by", max_length=150)
    signer_title = forms.CharField(
        validators=[no_account_numbers], label="Signer's title", max_length=150, required=False
    )
    details = forms.CharField(
        validators=[no_account_numbers], widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        spec = SPECS[kind]
        if spec.details_label:
            self.fields["details"].label = spec.details_label
            self.fields["details"].required = spec.details_required
            self.fields["details"].help_text = spec.details_help
        else:
            del self.fields["details"]
        if kind == LetterKind.SUB_ACCOUNT:
            self.fields["signer_title"].help_text = "The Trade Account Owner (TAO) signs this letter."

    def clean_details(self) -> str:
        details = self.cleaned_data["details"]
        if self.kind in ENTRY_NUMBER_KINDS and (problems := entry_number_problems(detail_lines(details))):
            raise ValidationError(problems)
        return details

    def clean_importer_numbers(self) -> list[str]:
        numbers = [
            line.strip() for line in self.cleaned_data["importer_numbers"].splitlines() if line.strip()
        ]
        for number in numbers:
            ior_validator(number)
        if not numbers:
            raise ValidationError("Enter at least one importer number.")
        return numbers


class LetterBatchForm(forms.Form):
    kind = forms.ChoiceField(label="Letter", choices=[(k.value, k.label) for k in BATCH_KINDS])
    clients = forms.ModelMultipleChoiceField(
        label="Clients",
        queryset=Client.objects.filter(is_active=True).order_by("legal_name"),
        widget=forms.CheckboxSelectMultiple,
    )
