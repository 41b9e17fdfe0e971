from django.apps import AppConfig


class ParkmeConfig(AppConfig):
    name = "parkme"
    verbose_name = "Users and operators"

    def ready(self) -> None:
        from parkme import slow_queries

        slow_queries.connect_signal()
