"""A person's reminder preferences and private calendar feed (outside any client: they span clients)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clients.models import CalendarFeed, ReminderPreference

from . import services


class ReminderPreferenceForm(forms.ModelForm):
    class Meta:
        model = ReminderPreference
        fields = ["early_reminders", "path_changes", "fileable_notices"]


@login_required
def reminder_preferences(request):
    preference = ReminderPreference.objects.filter(user=request.user).first() or ReminderPreference()
    form = ReminderPreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        services.reminder_preferences_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Your reminder preferences are saved.")
        return redirect("reminder_preferences")
    token = request.session.pop("new_feed_token", "")
    return render(
        request,
        "entries/reminder_preferences.html",
        {
            "form": form,
            "feed_url": settings.SITE_URL + reverse("calendar_feed", kwargs={"token": token})
            if token
            else "",
            "has_feed": CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True).exists(),
        },
    )


@login_required
@require_POST
def calendar_feed_create(request):
    # The token is shown once, on the next page view; only its hash is kept.
    request.session["new_feed_token"] = services.calendar_feed_create(user=request.user)
    messages.success(request, "Your new calendar address is below; any earlier one no longer works.")
    return redirect("reminder_preferences")


@login_required
@require_POST
def calendar_feed_revoke(request):
    services.calendar_feed_revoke(user=request.user)
    messages.success(request, "Your calendar address no longer works.")
    return redirect("reminder_preferences")
