"""The private calendar feed: /feeds/<token>.ics, outside any client and outside login.

The token is the only credential (only its SHA-256 is stored); a wrong or revoked token gets 404.
"""

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_scopes import scopes_disabled

from clients.models import CalendarFeed
from clients.tenancy import visible_clients
from domain.calendar import deadline_calendar
from domain.vocabulary import REMINDED_DEADLINE_KINDS

from ..models import Entry
from .services import _prodid, calendar_deadline

FEED_DAYS = 365
FEED_LIMIT = 2000  # the nearest ones; a calendar with more is no help to anyone


def feed_deadlines(*, user, today):
    """The user's upcoming CAPE-window and protest deadlines, across the clients they may open."""
    client_ids = list(visible_clients(user).filter(is_active=True).values_list("pk", flat=True))
    if user.is_staff_manager:  # managers see every client; their calendar follows their own caseload
        client_ids = list(user.assignments.values_list("client_id", flat=True))
    with scopes_disabled():  # several clients in one feed, limited to the ones the user may open
        return list(
            Entry.objects.filter(
                client_id__in=client_ids,
                next_deadline_kind__in=REMINDED_DEADLINE_KINDS,
                next_deadline__gte=today,
                next_deadline__lte=today + timedelta(days=FEED_DAYS),
            )
            .select_related("client")
            .only("entry_number", "next_deadline", "next_deadline_kind", "client__slug", "client__legal_name")
            .order_by("next_deadline", "entry_number")[:FEED_LIMIT]
        )


@require_GET
def calendar_feed(request, token):
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=CalendarFeed.hash_token(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if feed is None:
        raise Http404("No such feed")
    CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=timezone.now())
    events = [
        calendar_deadline(
            client=e.client,
            entry_number=e.entry_number,
            day=e.next_deadline,
            kind=e.next_deadline_kind,
            url=settings.SITE_URL
            + reverse(
                "entries:detail", kwargs={"client_slug": e.client.slug, "entry_number": e.entry_number}
            ),
        )
        for e in feed_deadlines(user=feed.user, today=timezone.localdate())
    ]
    body = deadline_calendar(
        events, prodid=_prodid(), name=f"{settings.BROKERAGE_NAME} deadlines", dtstamp=timezone.now()
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
