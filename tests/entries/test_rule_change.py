"""A new rule set reaches every client: stored entries move to it, with history, one notice per client."""

import pytest
from django.urls import reverse
from django_scopes import scope

from clients.models import AuditEvent
from domain.deadlines import RULES_2026_1
from entries.models import Entry, EntryHistory, RuleChangeNotice
from entries.reclassification import FACT_FIELDS, classify_facts, stored_values
from entries.registry import current_registry
from entries.tasks import reclassify_all_clients
from tests.entries.helpers import AS_OF, SAMPLE_IORS, upload
from tests.factories import ClientFactory, assign, importer_number, member, staff_user


def _client(slug: str, sample: str):
    client = ClientFactory(slug=slug, legal_name=f"{slug.title()} LLC")
    for number in SAMPLE_IORS[sample]:
        importer_number(client, number)
    upload(client, sample)
    return client


def _as_classified_under_2026_1(client) -> dict[str, tuple[str, str]]:
    """The client's entries as the portal stored them before 2026.2 was deployed: {number: (path, 2026.2 path)}."""
    registry = current_registry()
    paths = {}
    with scope(client=client):
        for entry in Entry.objects.filter(client=client):
            facts = {f: getattr(entry, f) for f in FACT_FIELDS if f != "id"} | {"id": entry.pk}
            old = classify_facts(facts, as_of=AS_OF, registry=registry, rules=RULES_2026_1)
            values = dict(
                zip(
                    (
                        "refund_path",
                        "exclusion_reason",
                        "projected_liquidation",
                        "cape_window_closes",
                        "protest_deadline",
                        "next_deadline",
                        "next_deadline_kind",
                        "rule_set_version",
                        "registry_version",
                    ),
                    stored_values(old),
                    strict=True,
                )
            )
            Entry.objects.filter(pk=entry.pk).update(**values)
            paths[entry.entry_number] = (old.refund_path, entry.refund_path)
    return paths


@pytest.fixture
def world(db):
    basic = _client("basic", "es003_basic.csv")
    ace = _client("ace", "es003_ace_names.csv")
    messy = _client("messy", "es003_messy.csv")
    people = {c.slug: [member(c), member(c, role="client_admin")] for c in (basic, ace, messy)}
    before = {c.slug: _as_classified_under_2026_1(c) for c in (basic, ace, messy)}
    return {"clients": {c.slug: c for c in (basic, ace, messy)}, "people": people, "before": before}


def _moved(before: dict) -> set[str]:
    return {number for number, (old, new) in before.items() if old != new}


def test_making_2026_2_current_reclassifies_every_client_and_tells_each_once(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    basic, ace, messy = (world["clients"][s] for s in ("basic", "ace", "messy"))
    # The samples' README: under 2026.2 only RV8-5796767-3 (suspended AD/CVD) changes in es003_basic.
    assert _moved(world["before"]["basic"]) == {"RV857967673"}
    assert _moved(world["before"]["messy"]) == set()
    assert len(_moved(world["before"]["ace"])) > 1

    with django_capture_on_commit_callbacks(execute=True):
        totals = reclassify_all_clients(as_of=AS_OF.isoformat())

    entries = sum(len(b) for b in world["before"].values())
    assert totals["rule_set_changes"] == entries and totals["notified_clients"] == 2
    for client in (basic, ace, messy):
        with scope(client=client):
            assert set(Entry.objects.values_list("rule_set_version", flat=True)) == {"2026.2"}
            moved = _moved(world["before"][client.slug])
            notices = list(RuleChangeNotice.objects.filter(client=client))
            if not moved:
                assert notices == []
                continue
            (notice,) = notices
            assert {c["entry_number"] for c in notice.changes} == moved
            assert (notice.rule_set_version, notice.previous_versions) == ("2026.2", "2026.1")
            for number in moved:
                entry = Entry.objects.get(entry_number=number)
                change = EntryHistory.objects.get(entry=entry, field="refund_path")
                old, new = world["before"][client.slug][number]
                assert (
                    (change.from_value, change.to_value)
                    == (old, new)
                    == (change.from_value, entry.refund_path)
                )
                assert change.note == "Rule set 2026.1 → 2026.2"
            assert AuditEvent.objects.filter(action="entries.rule_set_changed").count() == 1

    # One email per affected client, to its users; none to the client nothing changed for.
    assert len(mailoutbox) == 2
    by_client = {m.subject: m for m in mailoutbox}
    basic_mail = next(m for s, m in by_client.items() if "Basic LLC" in s)
    assert sorted(basic_mail.to) == sorted(u.email for u in world["people"]["basic"])
    assert "RV8-5796767-3: Excluded → CAPE Phase 1" in basic_mail.body
    assert "next deadline" in basic_mail.body
    assert not any(u.email in m.to for m in mailoutbox for u in world["people"]["messy"])


def test_a_second_run_changes_nothing_and_sends_nothing(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reclassify_all_clients(as_of=AS_OF.isoformat())
    sent = len(mailoutbox)
    with scope(client=world["clients"]["ace"]):
        history = EntryHistory.objects.count()
        notice = RuleChangeNotice.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = reclassify_all_clients(as_of=AS_OF.isoformat())
    assert (again["changed"], again["rule_set_changes"], again["notified_clients"]) == (0, 0, 0)
    assert len(mailoutbox) == sent
    with scope(client=world["clients"]["ace"]):
        assert EntryHistory.objects.count() == history
        assert RuleChangeNotice.objects.get().changes == notice.changes


def test_overview_banner_and_rule_changes_page_list_the_changed_entries(client, world):
    reclassify_all_clients(as_of=AS_OF.isoformat())
    basic, messy = world["clients"]["basic"], world["clients"]["messy"]
    client.force_login(world["people"]["basic"][0])
    html = client.get(reverse("clients:overview", kwargs={"client_slug": "basic"})).content.decode()
    assert 'id="rule-change-banner"' in html and "RV8-5796767-3" in html
    assert "Excluded" in html and "CAPE Phase 1" in html
    page = client.get(reverse("entries:rule_changes", kwargs={"client_slug": "basic"})).content.decode()
    assert "RV8-5796767-3" in page and "Rule set 2026.2" in page
    # The entry's history names both rule sets.
    with scope(client=basic):
        entry = Entry.objects.get(entry_number="RV857967673")
    assert "Rule set 2026.1 → 2026.2" in client.get(entry.get_absolute_url()).content.decode()

    client.force_login(world["people"]["messy"][0])
    html = client.get(reverse("clients:overview", kwargs={"client_slug": messy.slug})).content.decode()
    assert 'id="rule-change-banner"' not in html
    # Another client's list is not found, with that client's notice present.
    assert client.get(reverse("entries:rule_changes", kwargs={"client_slug": "basic"})).status_code == 404


def test_staff_see_each_clients_list_on_their_caseload(client, world):
    reclassify_all_clients(as_of=AS_OF.isoformat())
    staff = staff_user()
    assign(world["clients"]["basic"], staff)
    client.force_login(staff)
    html = client.get(reverse("staff:rule_changes")).content.decode()
    assert "Basic LLC" in html and "RV8-5796767-3" in html
    assert "Ace LLC" not in html
    manager = staff_user(manager=True)
    client.force_login(manager)
    html = client.get(reverse("staff:rule_changes")).content.decode()
    with scope(client=world["clients"]["ace"]):
        ace_numbers = [c["entry_number"] for c in RuleChangeNotice.objects.get().changes]
    assert "Basic LLC" in html and "Ace LLC" in html and "Messy LLC" not in html
    assert all(f"{n[:3]}-{n[3:10]}-{n[10]}" in html for n in ace_numbers)
    client.force_login(world["people"]["basic"][0])
    assert client.get(reverse("staff:rule_changes")).status_code == 404


def test_reclassify_entries_command_after_deploy(
    world, capsys, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        call_command("reclassify_entries", "--as-of", AS_OF.isoformat())
    out = capsys.readouterr().out
    assert "rule set 2026.2" in out and "2 clients notified" in out
    assert len(mailoutbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reclassify_entries", "--as-of", AS_OF.isoformat())
    assert "0 changed" in capsys.readouterr().out and len(mailoutbox) == 2


def test_the_daily_digest_leaves_rule_set_changes_to_the_notice(world, django_capture_on_commit_callbacks):
    from clients.models import SentReminder
    from entries.reminders.services import reminders_plan

    with django_capture_on_commit_callbacks(execute=True):
        reclassify_all_clients(as_of=AS_OF.isoformat())
    changes = {SentReminder.Reason.PATH_CHANGE, SentReminder.Reason.FILEABLE}
    items = [item for plan in reminders_plan(today=AS_OF).values() for item in plan.items]
    assert not [item for item in items if item.reason in changes]
