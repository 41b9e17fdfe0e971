"""Staff groups for the admin: model permissions per role.

membership_set puts admins and attendants into these groups; the admin then narrows every
permission to the operators where the user holds that role (parkme/admin_tenancy.py).
Devices and drivers get no group and cannot log in to the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRUD = ("add", "change", "delete", "view")

GROUPS = {
    "Operator admin": {
        "facilities": {
            "facility": CRUD,
            "zone": CRUD,
            "spot": CRUD,
            "rateplan": CRUD,
        },
        "parkme": {"membership": CRUD},
        # change_booking means "act on bookings" (check in/out, cancel): the form is read-only.
        "bookings": {
            "booking": ("view", "change"),
            "bookingevent": ("view",),
            "notification": ("view",),
        },
        "vehicles": {"platelookup": ("view",)},
    },
    "Operator attendant": {
        "facilities": {"facility": ("view",), "zone": ("view",), "spot": ("view",)},
        "bookings": {
            "booking": ("view", "change"),
            "bookingevent": ("view",),
            "notification": ("view",),
        },
    },
}


def install_groups(apps, schema_editor):
    # On a fresh database permissions are only created after all migrations ran.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, apps_perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = []
        for app_label, models in apps_perms.items():
            for model, actions in models.items():
                codenames += [(app_label, f"{action}_{model}") for action in actions]
        perms = []
        for app_label, codename in codenames:
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)

    # Staff who joined before the groups existed get theirs now, as membership_set would.
    Membership = apps.get_model("parkme", "Membership")
    for role, name in (("admin", "Operator admin"), ("attendant", "Operator attendant")):
        user_ids = Membership.objects.filter(role=role).values_list("user_id", flat=True)
        Group.objects.get(name=name).user_set.add(*set(user_ids))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("parkme", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("facilities", "0002_initial"),
        ("bookings", "0003_gate_event"),
        ("vehicles", "0002_plate_lookup"),
    ]

    operations = [migrations.RunPython(install_groups, remove_groups)]
