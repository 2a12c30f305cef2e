from django.core.exceptions import ValidationError


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to its field when it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


ACCOUNT_NUMBER_MESSAGE = (
    "This looks like a bank account number (8 or more digits in a row). The portal never keeps full account "
    "numbers: leave it out, or give only the last four digits (e.g. “account ending 2885”). Importer, entry "
    "and protest numbers, dates and phone numbers in their usual formats are fine."
)


def no_account_numbers(value) -> None:
    """The one validator of free text people type: refuses what looks like a bank account number."""
    from .free_text import account_number_like

    if isinstance(value, str) and account_number_like(value):
        raise ValidationError(ACCOUNT_NUMBER_MESSAGE, code="account_number")
