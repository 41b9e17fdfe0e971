"""Every active rate plan becomes a rate version that prices every window exactly as the
plan did: seven all-day bands charged per started hour at the plan's hourly rate, the
plan's daily maximum, grace and currency, in force from long before any booking and until
further notice, and the cancellation rule bookings had (free before the start, the whole
price after it). VAT 0 %: the plans named none (prices always included whatever VAT there
was; operators set the rate in the admin). The plans themselves stay, untouched, until a
later release drops them, so this release can be rolled back."""

from datetime import UTC, datetime, time

from django.db import migrations

MIGRATED = "Migrated from the rate plan"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def plans_to_versions(apps, schema_editor):
    RatePlan = apps.get_model("facilities", "RatePlan")
    RateVersion = apps.get_model("facilities", "RateVersion")
    RateBand = apps.get_model("facilities", "RateBand")
    for plan in RatePlan.objects.filter(is_active=True).order_by("id"):
        if RateVersion.objects.filter(facility_id=plan.facility_id).exists():
            continue
        all_day = {"starts": "00:00", "ends": None, "unit_minutes": 60, "label": "All day"}
        version = RateVersion.objects.create(
            facility_id=plan.facility_id,
            label=MIGRATED,
            valid_from=SINCE,
            currency=plan.currency,
            vat_percent=0,
            grace_minutes=plan.grace_minutes,
            daily_max=plan.daily_max,
            # As before: cancelling is free until the start, then the whole price stands.
            cancel_free_hours=0,
            cancel_fee_percent=100,
            # What facilities.boards.rate_version_dump writes for these rows.
            compiled={
                "currency": plan.currency,
                "vat_percent": "0.00",
                "daily_max": str(plan.daily_max),
                "minimum_charge": "0.00",
                "overnight": None,
                "bands": [
                    {"weekday": d, **all_day, "unit_price": str(plan.hourly_rate)}
                    for d in range(7)
                ],
                "early_birds": [],
                "special_days": [],
                "kind_adjustments": [],
            },
        )
        RateBand.objects.bulk_create(
            RateBand(
                version=version,
                weekday=weekday,
                starts=time(0),
                ends=None,
                unit_minutes=60,
                unit_price=plan.hourly_rate,
                label="All day",
            )
            for weekday in range(7)
        )


def versions_to_nothing(apps, schema_editor):
    # Plain SQL: the ORM's cascade collector trips over historical models here.
    migrated = "SELECT id FROM facilities_rateversion WHERE label = %s"
    schema_editor.execute(f"DELETE FROM facilities_rateband WHERE version_id IN ({migrated})", [MIGRATED])
    schema_editor.execute("DELETE FROM facilities_rateversion WHERE label = %s", [MIGRATED])


class Migration(migrations.Migration):
    dependencies = [("facilities", "0004_rate_tables")]

    operations = [migrations.RunPython(plans_to_versions, versions_to_nothing)]
