"""Deadline reminders: the rules (pure), the daily digest scan and send, preferences, the private calendar feed.

The models (ReminderPreference, CalendarFeed, ReminderDigest, SentReminder) stay in clients.models: moving
them to this app would change their app label, so their tables and migrations (docs/ARCHITECTURE.md).
"""
