"""Any saved or deleted facility, zone, spot or rate plan invalidates cached availability.

Bulk writes (queryset.update, bulk_create) send no signals: services that use them call
parkme.cache_versions.bump_on_commit themselves.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from facilities.models import Facility, RatePlan, Spot, Zone
from parkme.cache_versions import bump_catalog_on_commit, bump_on_commit


@receiver([post_save, post_delete], sender=Facility)
def _facility_changed(sender, instance: Facility, **kwargs) -> None:
    bump_on_commit([instance.pk])
    bump_catalog_on_commit()


@receiver([post_save, post_delete], sender=Spot)
@receiver([post_save, post_delete], sender=Zone)
@receiver([post_save, post_delete], sender=RatePlan)
def _facility_part_changed(sender, instance, **kwargs) -> None:
    bump_on_commit([instance.facility_id])
