"""The protest parts of other apps' pages: the protest authorization on the onboarding checklist."""

from django import template

from clients.onboarding.forms import AuthorizationForm

from ..selectors import past_protest_authorizations, protest_authorization_for

register = template.Library()


@register.inclusion_tag("protests/_authorization.html", takes_context=True)
def protest_authorization_panel(context):
    """For the onboarding page; runs in the client's scope like the page itself."""
    request = context["request"]
    client = request.client
    numbers = list(client_numbers(client))
    form = AuthorizationForm(numbers=numbers, prefix="protest")
    form.fields["confirm"].label = (
        "I may act for the company, and I authorize the brokerage to file protests (CBP Form 19) in its name for "
        "these importer numbers until I or another client admin revoke it."
    )
    return {
        "authorization": protest_authorization_for(client=client),
        "past": past_protest_authorizations(client=client),
        "form": form,
        "importer_numbers": numbers,
        "is_client_admin": request.client_access.is_client_admin,
        "slug": client.slug,
        "current_client": client,
    }


def client_numbers(client):
    from clients.models import ImporterNumber

    return ImporterNumber.objects.filter(client=client).order_by("number").values_list("number", flat=True)
