"""Staff groups get the rate tables: operator admins edit every part of a rate version,
attendants read them (the admin narrows both to the staff member's own operators)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRUD = ("add", "change", "delete", "view")
RATE_MODELS = ("rateversion", "rateband", "specialday", "specialdayband", "earlybird", "kindadjustment")
GRANTS = {
    "Operator admin": {model: CRUD for model in RATE_MODELS},
    "Operator attendant": {model: ("view",) for model in RATE_MODELS},
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("facilities")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="facilities", codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label="facilities", content_type__model__in=RATE_MODELS
    )
    for group in Group.objects.filter(name__in=GRANTS):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0005_rate_versions_from_plans"),
        ("parkme", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
