"""A partial index for monitoring's count of failed deliveries. Built CONCURRENTLY, so the
table keeps taking writes while it is built (the migration runs outside a transaction)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("webhooks", "0002_webhook_permissions"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "failed")),
                fields=["id"],
                name="webhookdelivery_failed_idx",
            ),
        ),
    ]
