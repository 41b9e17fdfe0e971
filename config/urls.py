from django.contrib import admin
from django.urls import include, path, re_path

from parkme import health, metrics
from parkme.api.errors import api_not_found

urlpatterns = [
    path("health/", health.liveness, name="health"),
    path("health/ready/", health.readiness, name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/", include("parkme.api.urls")),
    re_path(r"^api/", api_not_found),  # JSON 404s for the API, DEBUG or not
    path("metrics", metrics.metrics_view, name="metrics"),
]

handler400 = "parkme.api.errors.handler400"
handler403 = "parkme.api.errors.handler403"
handler404 = "parkme.api.errors.handler404"
handler500 = "parkme.api.errors.handler500"
