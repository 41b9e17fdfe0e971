from django.apps import AppConfig


class ParkmeConfig(AppConfig):
    name = "parkme"
    verbose_name = "Users and operators"
