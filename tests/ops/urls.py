"""The project's URLs plus probe views that show which server answered a read."""

from django.db import connections, router
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from parkme.models import Operator


def _read() -> dict:
    queryset = Operator.objects.order_by("name").annotate(
        in_recovery=RawSQL("pg_is_in_recovery()", ())
    )
    rows = list(queryset.values_list("name", "in_recovery"))
    return {
        "names": [name for name, _ in rows],
        "served_by_replica": rows[0][1] if rows else None,
        "db": queryset.db,
    }


def _create(name: str) -> None:
    Operator.objects.create(name=name, slug=slugify(name))


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_read())


def write_then_read(request: HttpRequest) -> JsonResponse:
    # A GET on purpose: the read must follow the write, not the HTTP method.
    _create(request.GET["name"])
    return JsonResponse(_read())


@require_POST
def write(request: HttpRequest) -> JsonResponse:
    _create(request.POST["name"])
    return JsonResponse({"created": request.POST["name"]}, status=201)


def slow(request: HttpRequest) -> JsonResponse:
    alias = router.db_for_read(Operator)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("seconds", "0.05"))])
    return JsonResponse({"db": alias})


urlpatterns = [
    path("ops-probe/read/", read),
    path("ops-probe/write-then-read/", write_then_read),
    path("ops-probe/write/", write),
    path("ops-probe/slow/", slow),
    path("", include("config.urls")),
]
