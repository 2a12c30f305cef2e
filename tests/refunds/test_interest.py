import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.interest import RateTable, estimate_interest, interest_basis, quarter_name


def _quarters(*rates: str) -> tuple:
    starts = [date(year, month, 1) for year in (2025, 2026) for month in (1, 4, 7, 10)]
    return tuple(zip(starts, map(Decimal, rates), strict=True))


# Spec §7a's figures, written out here (the portal reads them from refunds.InterestRate).
OVERPAYMENT_RATES_NONCORPORATE = RateTable(
    source="26 U.S.C. 6621 non-corporate", rates=_quarters(*["0.07"] * 5, "0.06", "0.07", "0.07")
)
OVERPAYMENT_RATES_CORPORATE = RateTable(
    source="26 U.S.C. 6621 corporate", rates=_quarters(*["0.06"] * 5, "0.05", "0.06", "0.06")
)

FLAT_7 = RateTable(source="test", rates=((date(2020, 1, 1), Decimal("0.07")),))
STEP = RateTable(
    source="test", rates=((date(2025, 1, 1), Decimal("0.10")), (date(2025, 4, 1), Decimal("0.02")))
)


def _day_by_day(principal: Decimal, start: date, end: date, table: RateTable) -> Decimal:
    balance = principal
    day = start
    while day < end:
        year_days = 366 if (day.year % 4 == 0 and day.year % 100 != 0) or day.year % 400 == 0 else 365
        balance *= 1 + table.rate_on(day) / year_days
        day += timedelta(days=1)
    return (balance - principal).quantize(Decimal("0.01"))


@pytest.mark.parametrize("day", [date(2025, 2, 4), date(2026, 11, 23)])
def test_estimate_interest_zero_days_is_zero(day):
    assert estimate_interest(
        principal=Decimal("12345.67"), from_date=day, to_date=day, table=FLAT_7
    ) == Decimal("0.00")


def test_estimate_interest_to_before_from_raises():
    with pytest.raises(ValueError, match="before"):
        estimate_interest(
            principal=Decimal(100), from_date=date(2026, 1, 2), to_date=date(2026, 1, 1), table=FLAT_7
        )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 1, 1), date(2026, 1, 1)),
        (date(2028, 1, 1), date(2029, 1, 1)),
        (date(2025, 7, 1), date(2026, 7, 1)),
    ],
)
def test_estimate_interest_one_year_flat_rate_is_close_to_continuous(start, end):
    interest = estimate_interest(principal=Decimal(1000), from_date=start, to_date=end, table=FLAT_7)
    continuous = Decimal(1000) * Decimal(math.exp(0.07) - 1)
    assert abs(interest - continuous) <= Decimal("0.01")


def test_estimate_interest_one_day_is_principal_times_daily_rate():
    interest = estimate_interest(
        principal=Decimal("36500.00"), from_date=date(2025, 3, 1), to_date=date(2025, 3, 2), table=FLAT_7
    )
    assert interest == Decimal("7.00")


def _flat(start: date, rate: str) -> RateTable:
    return RateTable(source="test", rates=((start, Decimal(rate)),))


def test_estimate_interest_crossing_a_quarter_uses_both_rates():
    start, end = date(2025, 3, 1), date(2025, 5, 1)
    principal = Decimal(100_000)
    both = estimate_interest(principal=principal, from_date=start, to_date=end, table=STEP)
    expected = principal * ((1 + Decimal("0.10") / 365) ** 31 * (1 + Decimal("0.02") / 365) ** 30 - 1)
    assert both == expected.quantize(Decimal("0.01"))
    all_high = estimate_interest(
        principal=principal, from_date=start, to_date=end, table=_flat(start, "0.10")
    )
    all_low = estimate_interest(principal=principal, from_date=start, to_date=end, table=_flat(start, "0.02"))
    assert all_low < both < all_high


def test_estimate_interest_stopping_at_a_quarter_start_uses_only_the_earlier_rate():
    start, boundary = date(2025, 3, 1), date(2025, 4, 1)
    principal = Decimal(100_000)
    assert estimate_interest(principal=principal, from_date=start, to_date=boundary, table=STEP) == (
        estimate_interest(principal=principal, from_date=start, to_date=boundary, table=_flat(start, "0.10"))
    )


@pytest.mark.parametrize(
    ("start", "end", "table"),
    [
        (date(2025, 2, 4), date(2026, 11, 23), OVERPAYMENT_RATES_NONCORPORATE),
        (date(2025, 2, 4), date(2026, 11, 23), OVERPAYMENT_RATES_CORPORATE),
        (date(2027, 12, 15), date(2028, 3, 15), OVERPAYMENT_RATES_NONCORPORATE),  # into a leap year
        (date(2026, 3, 30), date(2026, 4, 2), OVERPAYMENT_RATES_NONCORPORATE),  # across a rate change
    ],
)
def test_estimate_interest_matches_a_day_by_day_loop(start, end, table):
    principal = Decimal("98765.43")
    assert estimate_interest(principal=principal, from_date=start, to_date=end, table=table) == _day_by_day(
        principal, start, end, table
    )


def test_estimate_interest_before_the_table_raises():
    with pytest.raises(ValueError, match="no rate before"):
        estimate_interest(
            principal=Decimal(100),
            from_date=date(2024, 12, 31),
            to_date=date(2025, 1, 5),
            table=OVERPAYMENT_RATES_NONCORPORATE,
        )


@pytest.mark.parametrize(
    ("day", "noncorporate", "corporate"),
    [
        (date(2025, 2, 4), "0.07", "0.06"),
        (date(2025, 12, 31), "0.07", "0.06"),
        (date(2026, 3, 31), "0.07", "0.06"),
        (date(2026, 4, 1), "0.06", "0.05"),
        (date(2026, 6, 30), "0.06", "0.05"),
        (date(2026, 7, 1), "0.07", "0.06"),  # Rev. Rul. 2026-10: not carried from Q2
        (date(2026, 12, 31), "0.07", "0.06"),  # Rev. Rul. 2026-15
    ],
)
def test_seeded_rates_by_quarter(db, day, noncorporate, corporate):
    from refunds.planning import interest_rate_table

    assert interest_rate_table().rate_on(day) == Decimal(noncorporate)
    assert interest_rate_table(corporate=True).rate_on(day) == Decimal(corporate)


def test_seeded_rates_cover_2025_q1_to_2026_q4_with_a_source(db):
    from refunds.models import InterestRate

    rows = list(InterestRate.objects.values_list("quarter_start", "source"))
    assert [start for start, _ in rows] == [date(y, m, 1) for y in (2025, 2026) for m in (1, 4, 7, 10)]
    assert all(source for _, source in rows)


@pytest.mark.parametrize(
    ("start", "end", "runs", "beyond", "text"),
    [
        (
            date(2025, 6, 2),
            date(2026, 11, 23),
            [("2025 Q2", "2026 Q1", "0.07"), ("2026 Q2", "2026 Q2", "0.06"), ("2026 Q3", "2026 Q4", "0.07")],
            False,
            "Estimate from 2025-06-02 to 2026-11-23, compounded daily, at the IRS overpayment rate of 7% "
            "(2025 Q2–2026 Q1), then 6% (2026 Q2), then 7% (2026 Q3–2026 Q4).",
        ),
        (
            date(2026, 5, 1),
            date(2026, 7, 1),  # interest stops before July 1: Q3's rate is not used
            [("2026 Q2", "2026 Q2", "0.06")],
            False,
            "Estimate from 2026-05-01 to 2026-07-01, compounded daily, at the IRS overpayment rate of 6% (2026 Q2).",
        ),
        (
            date(2026, 12, 1),
            date(2027, 2, 15),
            [("2026 Q4", "2027 Q1", "0.07")],
            True,
            "Estimate from 2026-12-01 to 2027-02-15, compounded daily, at the IRS overpayment rate of 7% "
            "(2026 Q4–2027 Q1). It runs past 2026 Q4, the last quarter whose rate is known: the 2026 Q4 rate is "
            "assumed after it.",
        ),
        (
            date(2026, 12, 1),
            date(2027, 1, 1),  # the last accruing day is December 31: within the known quarters
            [("2026 Q4", "2026 Q4", "0.07")],
            False,
            "Estimate from 2026-12-01 to 2027-01-01, compounded daily, at the IRS overpayment rate of 7% (2026 Q4).",
        ),
    ],
)
def test_interest_basis_names_the_period_rates_and_the_unknown(start, end, runs, beyond, text):
    basis = interest_basis(from_date=start, to_date=end, table=OVERPAYMENT_RATES_NONCORPORATE)

    assert [(a, b, str(r)) for a, b, r in basis.rates] == runs
    assert basis.beyond_known is beyond
    assert basis.last_known_quarter == "2026 Q4"
    assert basis.text == text


@pytest.mark.parametrize(
    ("day", "name"),
    [(date(2025, 1, 1), "2025 Q1"), (date(2026, 6, 30), "2026 Q2"), (date(2026, 12, 31), "2026 Q4")],
)
def test_quarter_name(day, name):
    assert quarter_name(day) == name


def test_known_until_is_the_last_quarters_last_day():
    assert OVERPAYMENT_RATES_NONCORPORATE.known_until == date(2026, 12, 31)
    assert RateTable(source="t", rates=((date(2026, 1, 1), Decimal("0.07")),)).known_until == date(
        2026, 3, 31
    )


@pytest.mark.parametrize(
    "rates",
    [
        (),
        ((date(2025, 4, 1), Decimal("0.07")), (date(2025, 1, 1), Decimal("0.07"))),
        ((date(2025, 1, 1), Decimal("0.07")), (date(2025, 1, 1), Decimal("0.06"))),
    ],
)
def test_rate_table_rejects_unordered_or_empty_rates(rates):
    with pytest.raises(ValueError):
        RateTable(source="t", rates=rates)


# --- The rates are data staff managers extend (admin), and estimates say what they used -------------------


def test_manager_adds_a_quarter_in_the_admin_and_estimates_use_it(client, manager, staff_a):
    from django.contrib.admin.models import LogEntry
    from django.urls import reverse

    from refunds.models import InterestRate
    from refunds.planning import interest_rate_table

    add = reverse("admin:refunds_interestrate_add")
    data = {
        "quarter_start": "2027-01-01",
        "noncorporate_rate": "0.08",
        "corporate_rate": "0.07",
        "source": "Rev. Rul. 2026-27 (2027 Q1)",
    }
    client.force_login(staff_a)
    assert client.post(add, data).status_code == 403  # staff read the table; only managers change it
    client.force_login(manager)
    assert client.post(add, {**data, "quarter_start": "2027-01-15"}).status_code == 200  # not a quarter start

    response = client.post(add, data)

    assert response.status_code == 302
    row = InterestRate.objects.get(quarter_start=date(2027, 1, 1))
    assert row.updated_by == manager
    assert LogEntry.objects.filter(object_id=str(row.pk), user=manager).exists()  # the admin's history
    table = interest_rate_table()
    assert table.rate_on(date(2027, 2, 1)) == Decimal("0.08")
    basis = interest_basis(from_date=date(2026, 12, 1), to_date=date(2027, 2, 15), table=table)
    assert not basis.beyond_known and "8% (2027 Q1)" in basis.text


def test_entry_page_names_the_period_and_rates_of_its_estimate(client, client_a, member_a):
    from django.utils import timezone
    from django_scopes import scope

    from entries.models import Entry

    with scope(client=client_a):
        entry = Entry.objects.create(
            client=client_a,
            entry_number="ABC12345676",
            entry_type="01",
            entry_summary_date=date(2025, 6, 2),
            ieepa_duty=Decimal("1000.00"),
            liquidation_status="unliquidated",
            refund_path="cape_phase1",
        )
    client.force_login(member_a)

    page = client.get(entry.get_absolute_url()).content.decode()

    today = timezone.localdate()
    assert f"Estimate from 2025-06-02 to {today.isoformat()}" in page
    assert "7% (2025 Q2–2026 Q1), then 6% (2026 Q2), then 7% (2026 Q3" in page
    if today > date(2026, 12, 31):
        assert "It runs past 2026 Q4, the last quarter whose rate is known" in page


def test_preview_names_the_period_and_rates_of_its_interest_estimate(client, client_a, staff_a):
    from django.urls import reverse

    from tests.refunds.helpers import make_entries

    make_entries(client_a, 2)  # entry summary date 2025-06-02
    client.force_login(staff_a)

    page = client.get(reverse("refunds:declaration_new", args=[client_a.slug]), {"as_of": "2026-11-23"})

    text = page.content.decode()
    assert (
        "Estimate from 2025-06-02 to 2026-11-23, compounded daily, at the IRS overpayment rate of 7% "
        "(2025 Q2–2026 Q1), then 6% (2026 Q2), then 7% (2026 Q3–2026 Q4)." in text
    )


def test_batch_and_declaration_pages_name_the_basis_of_their_estimate(client, client_a, staff_a):
    from tests.refunds.helpers import build, declarations_of, make_entries

    make_entries(client_a, 2)  # entry summary date 2025-06-02
    batch = build(client_a, staff_a)  # as of 2026-11-23
    (declaration,) = declarations_of(batch)
    client.force_login(staff_a)

    for url in (batch.get_absolute_url(), declaration.get_absolute_url()):
        text = client.get(url).content.decode()
        assert "Estimate from 2025-06-02 to 2026-11-23" in text, url
        assert "then 7% (2026 Q3–2026 Q4)." in text, url


def test_protest_page_names_the_basis_of_its_estimate(client, client_a, staff_a):
    from tests.protests.helpers import build as build_protests
    from tests.protests.helpers import protest_entries, today

    protest_entries(client_a, 1, port="2704", days=100)
    (protest,) = build_protests(client_a, staff_a)
    client.force_login(staff_a)

    text = client.get(protest.get_absolute_url()).content.decode()

    assert f"to {today().isoformat()}, compounded daily, at the IRS overpayment rate of" in text


def test_without_any_rate_the_estimate_is_left_out_and_said_so(client_a, staff_a):
    from django_scopes import scope

    from refunds.models import InterestRate
    from refunds.planning import NO_RATES_WARNING, declaration_plan
    from tests.refunds.helpers import build, make_entries

    InterestRate.objects.all().delete()
    make_entries(client_a, 2)

    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=date(2026, 11, 23))
    batch = build(client_a, staff_a)

    assert plan.interest_estimate == Decimal("0.00") and plan.interest_basis is None
    assert NO_RATES_WARNING in plan.warnings
    assert batch.entry_count == 2
