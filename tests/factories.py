import time

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.utils import timezone
from django_scopes import scopes_disabled

from clients.models import Client, ImporterNumber, Membership, StaffAssignment, User

PASSWORD = "correct-horse-battery-staple"  # noqa: S105


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.set_password(extracted or PASSWORD)
        if create:
            user.save(update_fields=["password"])
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


def with_totp(user: User) -> str:
    """Give a user a TOTP authenticator; returns the secret (tests compute codes from it)."""
    secret = generate_totp_secret()
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)
    return secret


def staff_user(*, manager: bool = False, mfa: bool = True, **kwargs) -> User:
    user = UserFactory(staff_role=User.StaffRole.MANAGER if manager else User.StaffRole.STAFF, **kwargs)
    if mfa:
        with_totp(user)
    return user


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    slug = factory.Sequence(lambda n: f"importer-{n}")
    legal_name = factory.Sequence(lambda n: f"Importer Number {n} LLC")
    address_line1 = "1 Dock Street"
    city = "Newark"
    state = "NJ"
    postal_code = "07114"


def member(client: Client, user: User | None = None, role: str = Membership.Role.MEMBER) -> User:
    user = user or UserFactory()
    with scopes_disabled():
        Membership.objects.create(client=client, user=user, role=role)
    return user


def importer_number(client: Client, number: str, *, verified: bool = True) -> ImporterNumber:
    """A client's importer number; verified by default, as staff's numbers are (pending: verified=False)."""
    with scopes_disabled():
        return ImporterNumber.objects.create(
            client=client,
            number=number,
            verified_at=timezone.now() if verified else None,
            verification_evidence=ImporterNumber.Evidence.STAFF_ENTERED if verified else "",
        )


def assign(client: Client, staff: User) -> StaffAssignment:
    return StaffAssignment.objects.create(client=client, staff=staff)


# Data migrations that seed reference rows, in the order they run. Transactional tests flush every table when
# they end, these rows too (serialized_rollback would restore them, but collides with the content types that
# other transactional tests re-create), so such tests put them back with the migrations' own functions.
REFERENCE_DATA_MIGRATIONS = (
    "refunds.migrations.0002_seed_rejection_reasons",
    "refunds.migrations.0005_rejection_reasons_2026_2",
    "refunds.migrations.0007_interest_rates",
    "protests.migrations.0002_seed_templates",
)


def seed_reference_data() -> None:
    """The rejection reasons, interest rates and objection templates exactly as the migrations seed them."""
    import importlib

    from django.apps import apps

    for name in REFERENCE_DATA_MIGRATIONS:
        importlib.import_module(name).seed(apps, None)


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))
