"""Bench-only routes, mounted only by tests/load/bench_wsgi.py (never in production)."""

import random

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bookings.models import GateEvent
from facilities.models import Facility


def hello(request):
    """Baseline (a): the cheapest Django view that answers a small JSON."""
    return JsonResponse({"ok": True, "service": "parkme"})


@csrf_exempt
def lock_and_insert(request):
    """Baseline for (e): lock one row, insert one row, commit."""
    ids = request.GET.get("ids", "")
    facility_id = random.choice([int(i) for i in ids.split(",") if i]) if ids else None
    with transaction.atomic():
        facility = (
            Facility.objects.select_for_update().filter(pk=facility_id).first()
            if facility_id
            else Facility.objects.select_for_update().first()
        )
        GateEvent.objects.create(
            facility=facility,
            plate_normalized="BENCH",
            direction="entry",
            action="deny",
            reason="bench",
            at=timezone.now(),
        )
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [
    path("bench/hello/", hello),
    path("bench/write/", lock_and_insert),
    path("", include("config.urls")),
]
