from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to its field when it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def submit_form(
    request,
    form,
    call: Callable[..., Any],
    *,
    success: str | Callable[[Any], str],
    done: HttpResponse | Callable[[Any], HttpResponse],
    page: Callable[[Any], HttpResponse],
) -> HttpResponse:
    """The thin view's one shape: form -> one service call -> message and redirect.

    `call(**form.cleaned_data)` makes the service call. When it succeeds, `success` is the message (or makes
    it from the service's result) and `done` the response (or makes it from the result). When the form is
    invalid or the service refuses it (ValidationError), `page(form)` shows the form with its errors, the
    service's beside the field they name.
    """
    if form.is_valid():
        try:
            result = call(**form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, success(result) if callable(success) else success)
            return done(result) if callable(done) else done
    return page(form)


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
