"""Demo data so a newcomer has something to look at: idempotent, safe to run on every start."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scope

from clients.models import Client, Membership, User
from clients.services import client_create, staff_assign

DEMO_PASSWORD = "demo-refunds-2026"  # noqa: S105 — demo data only; printed for the person running it

# Fixed TOTP secrets (base32) so a demo staff login can be completed: add the secret to an authenticator
# app, or run `manage.py demo_totp EMAIL` for the current code.
STAFF = [
    ("manager@demo.test", "Morgan Reyes", User.StaffRole.MANAGER, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    ("staff1@demo.test", "Sam Okafor", User.StaffRole.STAFF, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
    ("staff2@demo.test", "Priya Natarajan", User.StaffRole.STAFF, "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK"),
]

# The importer numbers match the sample ES-003 reports in tests/fixtures/samples, so they import cleanly.
CLIENTS = [
    (
        "pacific-home-goods",
        "Pacific Home Goods LLC",
        ["19-528224900", "34-370224800"],
        "staff1@demo.test",
        [
            ("ana@pacific.demo.test", "Ana Lima", "client_admin"),
            ("ben@pacific.demo.test", "Ben Carter", "client_member"),
        ],
    ),
    (
        "great-lakes-tools",
        "Great Lakes Tool & Supply Inc.",
        ["20-188691700", "75-314831000"],
        "staff1@demo.test",
        [
            ("chloe@greatlakes.demo.test", "Chloe Dubois", "client_admin"),
            ("dev@greatlakes.demo.test", "Dev Patel", "client_member"),
        ],
    ),
    (
        "sunrise-apparel",
        "Sunrise Apparel Group Corp.",
        ["15-477794100", "84-141480700"],
        "staff2@demo.test",
        [
            ("erin@sunrise.demo.test", "Erin Walsh", "client_admin"),
            ("farid@sunrise.demo.test", "Farid Haddad", "client_member"),
        ],
    ),
]


def _user(email: str, name: str, staff_role: str = "") -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, staff_role=staff_role)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Load demo data (broker staff, three importer clients with two users each) and print the logins."

    @transaction.atomic
    def handle(self, *args, **options):
        staff = {}
        for email, name, role, secret in STAFF:
            user = _user(email, name, role)
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, secret)
            staff[email] = user
        manager = staff["manager@demo.test"]
        for slug, name, iors, staff_email, people in CLIENTS:
            client = Client.objects.filter(slug=slug).first() or client_create(
                actor=manager, slug=slug, legal_name=name, importer_numbers=iors
            )
            if not client.address_line1:
                client.address_line1, client.city, client.state, client.postal_code = (
                    "100 Harbor Way",
                    "Long Beach",
                    "CA",
                    "90802",
                )
                client.save()
            staff_assign(actor=manager, client=client, staff=staff[staff_email])
            with scope(client=client):
                for email, person, role in people:
                    Membership.objects.get_or_create(
                        client=client, user=_user(email, person), defaults={"role": role}
                    )
        # A person in two sister companies, to show the company switcher.
        with scope(client=Client.objects.get(slug="great-lakes-tools")):
            Membership.objects.get_or_create(
                client=Client.objects.get(slug="great-lakes-tools"),
                user=User.objects.get(email="ana@pacific.demo.test"),
                defaults={"role": "client_member"},
            )
        self._print_logins()

    def _print_logins(self):
        out = self.stdout.write
        out(self.style.SUCCESS("Demo data ready. Every demo login uses the password: " + DEMO_PASSWORD))
        out(
            "  Broker staff (two-factor required: add the TOTP secret to an authenticator app,"
            " or run `python manage.py demo_totp EMAIL`):"
        )
        for email, _name, role, secret in STAFF:
            out(f"    {email:<28} {role:<14} TOTP secret {secret}")
        out("  Importer client users:")
        for _slug, name, _iors, _staff, people in CLIENTS:
            for email, _person, role in people:
                out(f"    {email:<28} {role:<14} {name}")
        out("    (ana@pacific.demo.test also belongs to Great Lakes Tool & Supply: the company switcher)")
