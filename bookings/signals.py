"""Permit products and their hours change what drivers can book: any save or delete bumps
the facility's cached availability (after commit)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bookings.models import PermitHours, PermitProduct
from parkme.cache_versions import bump_on_commit


@receiver([post_save, post_delete], sender=PermitProduct)
def _product_changed(sender, instance: PermitProduct, **kwargs) -> None:
    bump_on_commit([instance.facility_id])


@receiver([post_save, post_delete], sender=PermitHours)
def _hours_changed(sender, instance: PermitHours, **kwargs) -> None:
    facility_id = (
        PermitProduct.objects.filter(pk=instance.product_id)
        .values_list("facility_id", flat=True)
        .first()
    )
    if facility_id is not None:
        bump_on_commit([facility_id])
