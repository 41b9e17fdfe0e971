"""Operator admins manage their operator's webhook endpoints and read (and redeliver) their
deliveries; attendants and devices get nothing, so they do not see webhooks at all. The
admin narrows every grant to the staff's own operators."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operator admin": {
        "webhookendpoint": ("add", "change", "delete", "view"),
        "webhookdelivery": ("view",),
    },
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("webhooks")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="webhooks", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="webhooks")
    for group in Group.objects.filter(name__in=GRANTS):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("parkme", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
