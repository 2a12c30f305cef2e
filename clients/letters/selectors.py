"""Reads for request letters: access helpers that 404 across clients, and the form's defaults."""

from django.shortcuts import get_object_or_404

from ..models import Client, ImporterNumber, Letter, LetterBatch, OnboardingProfile


def letters_for_client(*, client: Client):
    """Every version of every letter, newest version first within a kind."""
    return Letter.objects.filter(client=client).select_related("created_by").order_by("kind", "-version")


def letter_for_client(*, client: Client, public_id) -> Letter:
    return get_object_or_404(
        Letter.objects.select_related("client", "created_by"), client=client, public_id=public_id
    )


def letter_batch_by_id(*, public_id) -> LetterBatch:
    return get_object_or_404(LetterBatch, public_id=public_id)


def company_on_file(*, client: Client) -> dict[str, str]:
    """The company details the letters repeat: the client profile, plus the name on the Form 5106 if known."""
    profile = OnboardingProfile.objects.filter(client=client).first()
    return {
        "company_name": client.legal_name,
        "address_line1": client.address_line1,
        "address_line2": client.address_line2,
        "city": client.city,
        "state": client.state,
        "postal_code": client.postal_code,
        "company_name_5106": profile.company_name_5106 if profile else "",
    }


def letter_defaults(*, client: Client) -> dict:
    """Initial values for the letter form: what the profile says, so a typical letter needs no typing."""
    profile = OnboardingProfile.objects.filter(client=client).first()
    company = company_on_file(client=client)
    company.pop("company_name_5106")
    numbers = list(
        ImporterNumber.objects.filter(client=client).order_by("number").values_list("number", flat=True)
    )
    return {
        **company,
        "importer_numbers": "\n".join(numbers),
        "signer_name": profile.poc_name if profile else "",
        "signer_title": "",
        "details": "",
    }


def letters_in_batch(*, batch: LetterBatch) -> list[Letter]:
    from django_scopes import scopes_disabled

    with scopes_disabled():  # a manager's batch spans clients by design; the page is manager-only
        return list(
            Letter.objects.filter(batch=batch).select_related("client").order_by("client__legal_name")
        )
