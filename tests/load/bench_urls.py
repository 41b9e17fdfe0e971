"""Bench-only routes, mounted only by tests/load/bench_wsgi.py (never in production)."""

import random

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_redis import get_redis_connection

from bookings.models import GateEvent
from facilities.models import Facility


def hello(request):
    """Baseline (a): the cheapest Django view that answers a small JSON."""
    return JsonResponse({"ok": True, "service": "parkme"})


def hello_redis(request):
    """Floor (ar): (a) plus the one Redis round trip of a cached read (a pipeline of five
    commands: a counter's INCR and EXPIRE, a GET, an MGET and an INCR), nothing else."""
    pipe = get_redis_connection("default").pipeline(transaction=False)
    pipe.incr("bench:ar:counter")
    pipe.expire("bench:ar:counter", 60)
    pipe.get("bench:ar:stamp")
    pipe.mget(["bench:ar:v:0", "bench:ar:v:1"])
    pipe.incr("bench:ar:hits")
    pipe.execute()
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
    path("bench/redis/", hello_redis),
    path("bench/write/", lock_and_insert),
    path("", include("config.urls")),
]
