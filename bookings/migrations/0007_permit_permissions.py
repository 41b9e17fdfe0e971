"""Staff groups get the permits: operator admins edit products (and their hours), issue
permits, change their plates and suspend or reactivate them; attendants read products,
permits and their history. Nobody deletes a permit in the admin (its history stays), so
no group gets delete_permit; the admin narrows every grant to the staff's own operators."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRUD = ("add", "change", "delete", "view")
PERMIT_MODELS = ("permitproduct", "permithours", "permit", "permitevent")
GRANTS = {
    "Operator admin": {
        "permitproduct": CRUD,
        "permithours": CRUD,
        "permit": ("add", "change", "view"),
        "permitevent": ("view",),
    },
    "Operator attendant": {model: ("view",) for model in PERMIT_MODELS},
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("bookings")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="bookings", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label="bookings", content_type__model__in=PERMIT_MODELS
    )
    for group in Group.objects.filter(name__in=GRANTS):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_permits"),
        ("parkme", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
