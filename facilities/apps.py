from django.apps import AppConfig


class FacilitiesConfig(AppConfig):
    name = "facilities"

    def ready(self) -> None:
        from facilities import signals  # noqa: F401 - connects the receivers
