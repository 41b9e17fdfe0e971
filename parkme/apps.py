from django.apps import AppConfig


class ParkmeConfig(AppConfig):
    name = "parkme"
    verbose_name = "Users and operators"

    def ready(self) -> None:
        from parkme import checks, slow_queries  # noqa: F401 - checks registers itself

        slow_queries.connect_signal()
