from django import forms

from brokerage.forms import no_account_numbers


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        # An empty file is not a form error (which would refuse the whole batch without naming it): the
        # upload service refuses it by name, and the other files are imported.
        kwargs.setdefault("allow_empty_file", True)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ReportUploadForm(forms.Form):
    files = MultipleFileField(
        label="ACE ES-003 report files",
        help_text="CSV or Excel (.xlsx) exports of “Entry Summary Line Tariff Details”; several files at once are fine.",
    )
    reprocess = forms.BooleanField(
        label="Import again even if the same file was imported before", required=False
    )
    replaces = forms.BooleanField(
        label="This report replaces those entries",
        required=False,
        help_text="Tick it when the report has its entries whole and some now have fewer lines (a correction). "
        "Otherwise an entry the report has only some of the stored lines of is kept as it was and listed for review.",
    )


class EntryBulkForm(forms.Form):
    """Staff act on the entries ticked on the entries page: mark or clear a flag (each Entry.marked_ flag).

    The entry numbers are checked against the client's entries by the service (404 for any other)."""

    entries = forms.Field(
        widget=forms.MultipleHiddenInput, error_messages={"required": "Select at least one entry."}
    )
    action = forms.ChoiceField(label="With the selected entries")
    note = forms.CharField(label="Why", required=False, max_length=500)

    def __init__(self, *args, marks: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Choose…")] + [
            (f"{verb}:{key}", f"{verb.capitalize()}: {label}")
            for key, label in marks.items()
            for verb in ("mark", "clear")
        ]


class EntryFlagsForm(forms.Form):
    drawback = forms.BooleanField(label="Drawback claimed", required=False)
    protest = forms.BooleanField(label="Under an active protest", required=False)
    reconciliation = forms.BooleanField(label="Flagged for reconciliation", required=False)
    surety_paid = forms.BooleanField(label="Surety paid the IEEPA duty", required=False)
    reconciliation_filed = forms.BooleanField(label="Type 09 reconciliation entry filed", required=False)
    note = forms.CharField(
        validators=[no_account_numbers],
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: the protest number, the drawback claim, the surety's payment, the Type 09 entry number…",
    )


class BrokerReportForm(forms.Form):
    file = forms.FileField(
        label="Broker-wide ES-003 report",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
        help_text="One export covering many importers: each row goes to the client holding its importer number.",
    )
