"""Any saved or deleted facility, zone or spot invalidates cached availability;
a saved or deleted rate version or rule recompiles the version's board (facilities.boards).

Bulk writes (queryset.update, bulk_create) send no signals: services that use them call
parkme.cache_versions.bump_on_commit themselves.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from facilities.boards import rate_version_compile
from facilities.models import (
    EarlyBird,
    Facility,
    KindAdjustment,
    RateBand,
    RateVersion,
    SpecialDay,
    SpecialDayBand,
    Spot,
    Zone,
)
from parkme.cache_versions import bump_catalog_on_commit, bump_on_commit


@receiver([post_save, post_delete], sender=Facility)
def _facility_changed(sender, instance: Facility, **kwargs) -> None:
    bump_on_commit([instance.pk])
    bump_catalog_on_commit()


@receiver([post_save, post_delete], sender=Spot)
@receiver([post_save, post_delete], sender=Zone)
def _facility_part_changed(sender, instance, **kwargs) -> None:
    bump_on_commit([instance.facility_id])


@receiver(post_save, sender=RateVersion)
def _rate_version_saved(sender, instance: RateVersion, **kwargs) -> None:
    rate_version_compile(version_id=instance.pk)
    bump_on_commit([instance.facility_id])


@receiver(post_delete, sender=RateVersion)
def _rate_version_deleted(sender, instance: RateVersion, **kwargs) -> None:
    bump_on_commit([instance.facility_id])


@receiver([post_save, post_delete], sender=RateBand)
@receiver([post_save, post_delete], sender=EarlyBird)
@receiver([post_save, post_delete], sender=KindAdjustment)
@receiver([post_save, post_delete], sender=SpecialDay)
def _rate_rule_changed(sender, instance, **kwargs) -> None:
    _recompile(instance.version_id)


@receiver([post_save, post_delete], sender=SpecialDayBand)
def _special_day_band_changed(sender, instance: SpecialDayBand, **kwargs) -> None:
    version_id = (
        SpecialDay.objects.filter(pk=instance.special_day_id)
        .values_list("version_id", flat=True)
        .first()
    )
    if version_id is not None:
        _recompile(version_id)


def _recompile(version_id: int) -> None:
    rate_version_compile(version_id=version_id)
    facility_id = (
        RateVersion.objects.filter(pk=version_id).values_list("facility_id", flat=True).first()
    )
    if facility_id is not None:
        bump_on_commit([facility_id])
