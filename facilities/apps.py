from django.apps import AppConfig


class FacilitiesConfig(AppConfig):
    name = "facilities"

    def ready(self) -> None:
        from facilities import signals  # noqa: F401 - connects the receivers
        from facilities.selectors import facility_timezones
        from parkme.admin_tenancy import set_timezone_source

        set_timezone_source(facility_timezones)
