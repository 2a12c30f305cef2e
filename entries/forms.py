from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
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


class EntryFlagsForm(forms.Form):
    drawback = forms.BooleanField(label="Drawback claimed", required=False)
    protest = forms.BooleanField(label="Under an active protest", required=False)
    reconciliation = forms.BooleanField(label="Flagged for reconciliation", required=False)
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: the protest number, the drawback claim, the reconciliation entry…",
    )


class BrokerReportForm(forms.Form):
    file = forms.FileField(
        label="Broker-wide ES-003 report",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
        help_text="One export covering many importers: each row goes to the client holding its importer number.",
    )
