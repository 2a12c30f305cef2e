"""The pages outside any client, against every kind of visitor, with client A's data present: the staff
pages (/staff/…, enumerated from the URLconf), the Django admin (every registered model's list and one of
A's records), the private calendar feeds and the reminder pages.

Client users, users of no client and anonymous visitors get nothing of the staff side (404, or the
login page); a staff member not assigned to A sees nothing of A anywhere, the admin included; people,
logins and second factors in the admin are the managers' alone.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from clients.models import Client, LetterBatch, TenantModel
from domain.vocabulary import DeadlineKind
from entries.models import BrokerReport, Entry
from entries.reminders import services as reminder_services
from tests.html_tree import INLINE_HANDLER, INLINE_SCRIPT
from tests.security import ledger
from tests.tenant_world import A_MARKERS, INSIDERS, ROLES, assert_no_a_data, body


@pytest.fixture
def deadline_soon(world):
    """A's entry with its CAPE window closing in ten days: it shows in deadline lists and calendar feeds."""
    with scopes_disabled():
        Entry.objects.filter(client=world.client).update(
            next_deadline=timezone.localdate() + timedelta(days=10),
            next_deadline_kind=DeadlineKind.CAPE_WINDOW_CLOSES.value,
        )
    return world


def _staff_patterns() -> list[tuple[str, list[str]]]:
    found = []
    for top in get_resolver().url_patterns:
        if isinstance(top, URLResolver) and top.namespace == "staff":
            for p in top.url_patterns:
                if isinstance(p, URLPattern) and p.name:
                    found.append((f"staff:{p.name}", list(p.pattern.converters.keys())))
    return sorted(found)


STAFF_PAGES = _staff_patterns()
MANAGER_ONLY = {
    "staff:assignments",
    "staff:assignment_change",
    "staff:letters",
    "staff:letter_sample",
    "staff:letter_batch",
}
NOT_STAFF = ["member_a", "admin_a", "member_b", "admin_b", "loner"]


@pytest.fixture
def staff_world(world, staff_a):
    broker_report = BrokerReport.objects.create(
        original_name="broker.csv", sha256="1" * 64, created_by=staff_a, status="succeeded"
    )
    broker_report.file.save("broker.csv", ContentFile(b"Importer Number\nALPHA-BROKER-FILE\n"))
    broker_report.unmatched_file.save("unmatched.csv", ContentFile(b"row,reason\n2,ALPHA-UNMATCHED\n"))
    batch = LetterBatch.objects.create(kind="sub_account", client_ids=[world.client.pk], created_by=staff_a)
    world.staff_kwargs = {
        "staff:assignment_change": {"client_id": world.client.pk},
        "staff:broker_report": {"public_id": broker_report.public_id},
        "staff:broker_report_unmatched": {"public_id": broker_report.public_id},
        "staff:letter_sample": {"kind": "sub_account"},
        "staff:letter_batch": {"public_id": batch.public_id},
    }
    return world


def test_staff_matrix_covers_every_staff_page():
    names = {n for n, _ in STAFF_PAGES}
    assert {"staff:caseload", "staff:deadlines", "staff:clients", "staff:broker_report"} <= names


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "params"), STAFF_PAGES, ids=[n for n, _ in STAFF_PAGES])
def test_staff_page_access(client, staff_world, request, name, params, role):
    if params:
        assert name in staff_world.staff_kwargs, f"{name} takes {params}: say how to build one in staff_world"
    url = reverse(name, kwargs=staff_world.staff_kwargs.get(name, {}))
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})

    if role in ("anonymous", "inactive_a"):
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    elif role == "staff_nomfa_a":
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    elif role in NOT_STAFF:
        assert response.status_code == 404, f"{role} must not reach {url}"
    elif name in MANAGER_ONLY and role != "manager":
        assert response.status_code == 404, f"{role} must not use {url}"
    elif role == "staff_b" and name in ("staff:broker_report", "staff:broker_report_unmatched"):
        assert response.status_code == 404, "another staff member's broker-wide report"
    else:
        assert response.status_code in (200, 302), f"{role} should reach {url}, got {response.status_code}"
    if role not in ("staff_a", "manager"):
        assert_no_a_data(response, url, role)
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), f"inline script on {url}"
    ledger.record("staff page", url, role, response.status_code)


@pytest.mark.parametrize("name", ["staff:caseload", "staff:deadlines", "staff:clients", "staff:onboarding"])
def test_staff_lists_show_a_to_its_staff_and_not_to_others(client, deadline_soon, staff_a, staff_b, name):
    client.force_login(staff_a)
    assert "Alpha Imports LLC" in client.get(reverse(name)).content.decode()
    client.force_login(staff_b)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_no_a_data(response, name, "staff_b")
    ledger.record("staff page", reverse(name), "staff_b", response.status_code)


# Reference tables every staff member may read; everything else that is not a client's record (people,
# logins, email addresses, second factors, groups, digests) is the managers' alone.
REFERENCE = {"entries.chapter99rule", "refunds.rejectionreason", "refunds.interestrate"}


def _a_object(model, world):
    label = model._meta.label_lower
    with scopes_disabled():
        if model is Client:
            return world.client
        if issubclass(model, TenantModel):
            return model.objects.filter(client=world.client).order_by("pk").first()
        if label == "clients.user":
            return world.membership.user
        if label == "account.emailaddress":
            return model.objects.filter(user=world.membership.user).first()
        if label == "mfa.authenticator":
            return model.objects.order_by("pk").first()
    return None


def _kind(model) -> str:
    label = model._meta.label_lower
    if model is Client or issubclass(model, TenantModel):
        return "client record"
    return "reference" if label in REFERENCE else "people and logins"


ADMIN_MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label_lower)


@pytest.fixture
def admin_world(world):
    """A's records, and its letterhead logo (a private file: the admin must not try to link to it)."""
    world.client.letterhead_logo.save("alpha.png", ContentFile(b"\x89PNG\r\n\x1a\nALPHA-LOGO"))
    return world


def _import_export_urls(model) -> list[tuple[str, str]]:
    """The django-import-export pages of a model's admin: ("export" | "import", url)."""
    opts = model._meta
    found = []
    for action, name in (("export", "export"), ("import", "import"), ("import", "process_import")):
        try:
            found.append((action, reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}")))
        except NoReverseMatch:
            pass
    return found


def test_admin_matrix_knows_the_import_and_export_pages():
    labels = {m._meta.label_lower for m in ADMIN_MODELS if _import_export_urls(m)}
    assert {"clients.client", "clients.user", "entries.entry", "entries.entryline"} <= labels


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", ADMIN_MODELS, ids=[m._meta.label_lower for m in ADMIN_MODELS])
def test_admin_access(client, admin_world, request, model, role):
    world = admin_world
    opts = model._meta
    urls = [("list", reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))]
    obj = _a_object(model, world)
    if obj is not None:
        urls.append(("record", reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])))
    urls += _import_export_urls(model)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    kind = _kind(model)

    for page, url in urls:
        # process_import takes only POST; the others are asked with GET and, for imports, POST as well.
        if url.endswith("/process_import/"):
            response = client.post(url, {})
        else:
            response = client.get(url)
        if role in ("anonymous", "inactive_a", *NOT_STAFF):
            assert response.status_code == 302, f"{role} reached {url}"
            assert response.url.startswith(reverse("admin:login"))
        elif role == "staff_nomfa_a":
            assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
        elif role == "manager":
            # process_import asked with an empty form answers with the form's errors (200).
            assert response.status_code == 200, url
        elif kind == "people and logins":
            assert response.status_code == 403, f"{role} must not read {opts.label} in the admin"
        elif page == "import":
            assert response.status_code == 403, f"{role} must not import {opts.label}"
        elif kind == "reference" or role == "staff_a":
            assert response.status_code == 200, url
        elif page in ("list", "export"):  # staff_b: the list and the export form, without A's records
            assert response.status_code == 200, url
        else:  # staff_b: A's record itself is not there (the admin sends them back with a message)
            assert response.status_code in (302, 404), f"{role} opened client A's {opts.label}"
        if role not in INSIDERS:
            assert_no_a_data(response, url, role)
            assert "ABC12345676" not in body(response).decode()
        ledger.record("admin page", url, role, response.status_code)


def test_admin_shows_a_record_to_a_staff_and_the_manager(client, world, staff_a, manager):
    url = reverse("admin:entries_entry_changelist")
    for user in (staff_a, manager):
        client.force_login(user)
        assert "ABC12345676" in client.get(url).content.decode()


def test_admin_export_of_entries_holds_only_the_caseload(client, world, staff_b, client_b):
    with scopes_disabled():
        Entry.objects.create(client=client_b, entry_number="BRV12345678", entry_type="01")
    client.force_login(staff_b)
    data = {"format": "0", "resource": "0"}
    response = client.post("/admin/entries/entry/export/", data)
    if response.get("Content-Disposition") is None:
        form = response.context["form"]
        data.update({name: "on" for name in form.fields if name.startswith("entryresource_")})
        response = client.post("/admin/entries/entry/export/", data)
    text = response.content.decode()
    assert "BRV12345678" in text
    for marker in ["ABC12345676", *A_MARKERS]:
        assert marker not in text
    ledger.record("admin export", "/admin/entries/entry/export/", "staff_b", response.status_code)


@pytest.mark.parametrize(
    "case", ["wrong token", "revoked token", "other person's token", "deactivated owner"]
)
def test_feed_never_serves_a_deadline_of_a(client, deadline_soon, member_a, member_b, case):
    token_a = reminder_services.calendar_feed_create(user=member_a)
    assert "ABC12345676" in client.get(reverse("calendar_feed", args=[token_a])).content.decode()
    if case == "wrong token":
        token = token_a[:-1] + ("A" if token_a[-1] != "A" else "B")
    elif case == "revoked token":
        reminder_services.calendar_feed_revoke(user=member_a)
        token = token_a
    elif case == "other person's token":
        token = reminder_services.calendar_feed_create(user=member_b)
    else:
        member_a.is_active = False
        member_a.save(update_fields=["is_active"])
        token = token_a

    response = client.get(reverse("calendar_feed", args=[token]))

    assert response.status_code == (200 if case == "other person's token" else 404)
    assert "ABC12345676" not in response.content.decode()
    assert_no_a_data(response, "feed", case)
    ledger.record("calendar feed", reverse("calendar_feed", args=["<token>"]), case, response.status_code)


@pytest.mark.parametrize("role", ["member_b", "staff_b"])
def test_reminder_page_of_an_outsider_shows_nothing_of_a(client, world, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("reminder_preferences"))
    assert response.status_code == 200
    assert_no_a_data(response, "reminders", role)
    ledger.record("reminder page", reverse("reminder_preferences"), role, response.status_code)
