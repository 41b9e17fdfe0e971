"""A test-only route that fails unexpectedly, mounted beside the real ones."""

from django.urls import include, path


def broken(request):
    raise RuntimeError("the flux capacitor is out of sync")


urlpatterns = [
    path("broken/", broken),
    path("", include("config.urls")),
]
handler500 = "parkme.api.errors.handler500"
