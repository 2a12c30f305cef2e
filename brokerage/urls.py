from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView

from clients import views as client_views
from entries.reminders import feeds
from entries.reminders import views as reminder_views

# Every page of one client lives below /c/<client_slug>/: ClientScopeMiddleware checks access and
# enters the client's scope for all of them.
client_patterns = [
    path("", include("clients.urls")),
    path("", include("entries.urls")),
    path("", include("refunds.urls")),
    path("", include("protests.urls")),
]

urlpatterns = [
    path("", client_views.home, name="home"),
    path("clients/", client_views.choose_client, name="choose_client"),
    path("c/<slug:client_slug>/", include(client_patterns)),
    path("staff/", include("staff.urls")),
    path("invite/<str:token>/", client_views.invitation_accept, name="invitation_accept"),
    # A person's reminders and private calendar feed; the feed is outside login (the token is the key).
    path("reminders/", reminder_views.reminder_preferences, name="reminder_preferences"),
    path("reminders/feed/", reminder_views.calendar_feed_create, name="calendar_feed_create"),
    path("reminders/feed/revoke/", reminder_views.calendar_feed_revoke, name="calendar_feed_revoke"),
    path("feeds/<str:token>.ics", feeds.calendar_feed, name="calendar_feed"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico before reading the page's icon link.
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "favicon.svg", permanent=True)),
    path(
        "healthz",
        TemplateView.as_view(template_name="healthz.txt", content_type="text/plain"),
        name="healthz",
    ),
]
