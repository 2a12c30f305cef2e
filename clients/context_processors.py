from django.conf import settings

from .tenancy import visible_clients


def portal(request):
    user = getattr(request, "user", None)
    context = {"brokerage_name": settings.BROKERAGE_NAME, "current_client": getattr(request, "client", None)}
    access = getattr(request, "client_access", None)
    context["client_access"] = access
    if user is not None and user.is_authenticated and not user.is_broker_staff:
        # Lazy: only evaluated by the header's client switcher.
        context["switchable_clients"] = visible_clients(user)
    return context
