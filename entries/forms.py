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
