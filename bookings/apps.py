from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        # The lower apps know nothing of bookings: bookings plugs its rules into them here.
        from bookings import metrics, signals  # noqa: F401 - connects the receivers
        from bookings.services import vehicle_live_bookings_block_removal
        from parkme.metrics import add_source
        from parkme.monitoring import add_stats_section
        from vehicles.services import vehicle_add_removal_check

        vehicle_add_removal_check(vehicle_live_bookings_block_removal)
        for source in metrics.SOURCES:
            add_source(source)
        for name, section in metrics.STATS_SECTIONS.items():
            add_stats_section(name, section)
