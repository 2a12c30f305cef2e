"""Forms of the onboarding checklist. Many share one page, so each item's forms carry a prefix."""

from django import forms
from django.utils import timezone

from brokerage.forms import no_account_numbers

from .ach import ach_problems
from .checklist import AcePath, AchStatus, ItemStatus, Owner, SubAccountState, ace_steps


class ItemUpdateForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=ItemStatus.choices)
    notes = forms.CharField(
        validators=[no_account_numbers],
        label="Notes",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    owner = forms.ChoiceField(label="Owner", choices=Owner.choices)
    due_date = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, staff: bool, derived: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if derived:
            del self.fields["status"]
        if not staff:
            del self.fields["owner"], self.fields["due_date"]


class ReviewForm(forms.Form):
    note = forms.CharField(validators=[no_account_numbers], label="Note", required=False, max_length=1000)


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label="Add a file",
        help_text="PDF, PNG or JPEG, up to 10 MB. Never upload anything that shows a full bank account number.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )


class AcePathForm(forms.Form):
    path = forms.ChoiceField(
        label="How do you get your ACE Portal account?", choices=AcePath.choices, widget=forms.RadioSelect
    )


class AceStepsForm(forms.Form):
    steps = forms.MultipleChoiceField(
        label="Steps done", required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args, path: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["steps"].choices = [(step.key, step.text) for step in ace_steps(path)]


class Form5106Form(forms.Form):
    company_name_5106 = forms.CharField(
        validators=[no_account_numbers],
        label="Company name exactly as on the CBP Form 5106",
        max_length=200,
        help_text="Letter for letter, with the same punctuation and suffix (Inc., LLC): ACE compares them.",
    )
    poc_name = forms.CharField(
        validators=[no_account_numbers],
        label="Point of contact on the Form 5106",
        max_length=150,
        required=False,
    )
    poc_email = forms.EmailField(
        label="Point of contact's email",
        help_text="CBP sends the ACE sign-up code here; it expires 10 minutes later.",
    )


class CodeWindowForm(forms.Form):
    starts_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "starts_at"
        ].label = f"When the point of contact is available ({timezone.get_current_timezone_name()})"


class SubAccountForm(forms.Form):
    state = forms.ChoiceField(
        label="Importer sub-account", choices=SubAccountState.choices, widget=forms.RadioSelect
    )


class NoLongNumberInput(forms.TextInput):
    """Sends back what was typed only while it holds at most `max_digits` digits: an account number pasted
    into the wrong field by mistake never comes back into the page."""

    def __init__(self, *, max_digits: int, attrs=None):
        super().__init__(attrs)
        self.max_digits = max_digits

    def format_value(self, value):
        text = "" if value is None else str(value)
        return text if sum(ch.isdigit() for ch in text) <= self.max_digits else None


class AchForm(forms.Form):
    bank_name = forms.CharField(
        label="Bank name", max_length=100, required=False, widget=NoLongNumberInput(max_digits=4)
    )
    routing_number = forms.CharField(
        label="ABA routing number",
        required=False,
        max_length=20,
        help_text="The bank's 9-digit routing number for ACH (on a check, the first group of digits).",
        widget=NoLongNumberInput(max_digits=9, attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    # No max_length: a browser limit would silently keep the first four digits of a pasted full number.
    account_last_four = forms.CharField(
        label="Account number: last four digits only",
        required=False,
        help_text="The portal never receives the full account number; that goes only into the ACE Portal.",
        widget=NoLongNumberInput(max_digits=4, attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label="Enrollment status", choices=AchStatus.choices)

    def clean(self):
        cleaned = super().clean()
        problems = ach_problems(
            bank_name=cleaned.get("bank_name", "").strip(),
            routing_number=cleaned.get("routing_number", "").replace(" ", ""),
            account_last_four=cleaned.get("account_last_four", "").strip(),
            status=cleaned.get("status", AchStatus.NOT_ENROLLED),
        )
        for name, problem in problems.items():
            if name not in self.errors:
                self.add_error(name, problem)
        return cleaned


class SpecialCasesForm(forms.Form):
    account_inactive = forms.BooleanField(
        label="The importer record or ACE account is inactive (dormant)", required=False
    )
    account_voided = forms.BooleanField(label="CBP voided the importer record", required=False)
    foreign_importer = forms.BooleanField(label="Foreign importer without a US bank account", required=False)
    paper_check_waiver = forms.BooleanField(
        label="Asking CBP for a paper-check waiver (31 CFR 208.4)", required=False
    )
    broker_notify_party = forms.BooleanField(
        label="Refunds go to the broker as CBP Form 4811 notify party", required=False
    )
    files_protests = forms.BooleanField(
        label="Entries need protests (CBP Form 19): liquidated more than 80 days ago, or Section 122 duty",
        required=False,
    )


class AuthorizationForm(forms.Form):
    importer_numbers = forms.MultipleChoiceField(
        label="For these importer numbers", widget=forms.CheckboxSelectMultiple, choices=()
    )
    confirm = forms.BooleanField(
        label="I may act for the company, and I authorize the brokerage to file CAPE declarations for these "
        "importer numbers until I or another client admin revoke it."
    )

    def __init__(self, *args, numbers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["importer_numbers"].choices = [(n, n) for n in numbers]
