"""The whole site: every app's API routes under /api/v1/, the admin, health and metrics."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from bookings.api import urls as bookings_api
from facilities.api import urls as facilities_api
from parkme import health, metrics
from parkme.api import urls as parkme_api
from parkme.api.errors import api_not_found
from vehicles.api import urls as vehicles_api

api_v1 = [
    *parkme_api.urlpatterns,
    *vehicles_api.urlpatterns,
    *facilities_api.urlpatterns,
    *bookings_api.urlpatterns,
]

urlpatterns = [
    path("health/", health.liveness, name="health"),
    path("health/ready/", health.readiness, name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads Swagger UI's start-up script from the app: no inline script,
    # so the Content-Security-Policy needs no 'unsafe-inline' for scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    re_path(r"^api/", api_not_found),  # JSON 404s for the API, DEBUG or not
    path("metrics", metrics.metrics_view, name="metrics"),
    path("monitoring/stats/", metrics.stats_view, name="monitoring-stats"),
]

handler400 = "parkme.api.errors.handler400"
handler403 = "parkme.api.errors.handler403"
handler404 = "parkme.api.errors.handler404"
handler500 = "parkme.api.errors.handler500"
