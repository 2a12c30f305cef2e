from django import forms
from django.utils import timezone

from brokerage.forms import no_account_numbers

from .models import CbpReport


class BuildForm(forms.Form):
    """The preview's choices: which importer number (or all) and the day the eligibility is judged on."""

    importer_number = forms.ChoiceField(label="Importer number", required=False)
    as_of = forms.DateField(
        label="As of",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Phase 2 entries are included from June 29, 2026; interest is estimated up to this day.",
    )

    def __init__(self, *args, importer_numbers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["importer_number"].choices = [("", "All importer numbers")] + [
            (n, n) for n in importer_numbers
        ]

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of > timezone.localdate():
            raise forms.ValidationError("Choose today or an earlier day.")
        return as_of


class FilingForm(forms.Form):
    claim_number = forms.CharField(label="CAPE claim number", max_length=40)
    filed_on = forms.DateField(label="Filed on", widget=forms.DateInput(attrs={"type": "date"}))
    override_reason = forms.CharField(
        validators=[no_account_numbers],
        label="Override reason (staff managers only)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only when the client is not ready to file: why the filing is recorded anyway.",
    )


class AllowRefileForm(forms.Form):
    entry_number = forms.CharField(max_length=11)
    note = forms.CharField(
        validators=[no_account_numbers], label="What was done", widget=forms.Textarea(attrs={"rows": 2})
    )


class CbpReportForm(forms.Form):
    kind = forms.ChoiceField(label="Report", choices=CbpReport.Kind.choices)
    declaration = forms.ChoiceField(
        label="Declaration (validation results)",
        required=False,
        help_text="For a results file without a claim number column; otherwise rows are matched by claim number.",
    )
    file = forms.FileField(
        label="File",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
        help_text="CSV or Excel (.xlsx) as exported from ACE or sent by CBP.",
    )

    def __init__(self, *args, declarations, **kwargs):
        super().__init__(*args, **kwargs)
        self.declarations = {str(d.public_id): d for d in declarations}
        self.fields["declaration"].choices = [("", "— matched by claim number —")] + [
            (key, f"{d.claim_number} ({d.entry_count:,} entries)") for key, d in self.declarations.items()
        ]

    def clean_declaration(self):
        return self.declarations.get(self.cleaned_data["declaration"])
