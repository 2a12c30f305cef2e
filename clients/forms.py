from django import forms
from django.contrib.auth import password_validation

from brokerage.forms import no_account_numbers

from .models import Client, Membership, ior_validator
from .selectors import staff_users


class ClientProfileForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = [
            "legal_name",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "country",
            "letterhead_logo",
        ]
        labels = {"legal_name": "Legal name (exactly as on CBP Form 5106)", "address_line1": "Address"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("legal_name", "address_line1", "address_line2", "city"):
            self.fields[name].validators.append(no_account_numbers)

    def clean_letterhead_logo(self):
        logo = self.cleaned_data.get("letterhead_logo")
        if logo and hasattr(logo, "content_type"):
            head = logo.read(16)
            logo.seek(0)
            if not (head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff")):
                raise forms.ValidationError("Upload the logo as a PNG or JPEG image.")
            if logo.size > 2 * 1024 * 1024:
                raise forms.ValidationError("The logo must be smaller than 2 MB.")
        return logo


class ImporterNumberForm(forms.Form):
    number = forms.CharField(label="Importer-of-record number", max_length=20, validators=[ior_validator])
    label = forms.CharField(
        validators=[no_account_numbers], label="Label (optional)", max_length=100, required=False
    )


class ImporterNumberVerifyForm(forms.Form):
    evidence = forms.ChoiceField(
        label="Checked against",
        choices=[
            ("form_5106", "the client's CBP Form 5106"),
            ("ace_account", "the client's ACE account"),
        ],
    )
    note = forms.CharField(
        validators=[no_account_numbers],
        label="Note (optional)",
        max_length=500,
        required=False,
        help_text="What you saw, e.g. the 5106's date.",
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(validators=[no_account_numbers], label="Your name", max_length=150)
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            from .models import User

            try:
                password_validation.validate_password(
                    p1, User(email=self.email, full_name=cleaned.get("full_name", ""))
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ClientCreateForm(forms.Form):
    legal_name = forms.CharField(
        validators=[no_account_numbers], label="Legal name (exactly as on CBP Form 5106)", max_length=200
    )
    slug = forms.SlugField(
        label="Short name for links", max_length=60, help_text="Letters, digits and dashes."
    )
    importer_numbers = forms.CharField(
        label="Importer-of-record numbers",
        required=False,
        help_text="One or more, separated by commas or spaces.",
    )
    staff = forms.ModelChoiceField(label="Assign to", queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_users()

    def clean_importer_numbers(self):
        numbers = [
            n.strip().upper()
            for n in self.cleaned_data["importer_numbers"].replace(",", " ").split()
            if n.strip()
        ]
        for number in numbers:
            ior_validator(number)
        return numbers


class AssignmentForm(forms.Form):
    staff = forms.ModelChoiceField(label="Staff member", queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_users()
