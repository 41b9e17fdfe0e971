"""Floor (a0) of `make bench`: plain Django, no middleware, no apps, one JSON view, served by
the same gunicorn settings as ParkMe. Nothing of ParkMe is imported."""

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-floor-only-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    DATABASES={},
    USE_TZ=True,
)


def hello(request):
    """The same answer as ParkMe's bare view (a)."""
    return JsonResponse({"ok": True, "service": "parkme"})


urlpatterns = [path("bench/hello/", hello)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
