from django.contrib import admin
from django.urls import include, path

from parkme import health, metrics

urlpatterns = [
    path("health/", health.liveness, name="health"),
    path("health/ready/", health.readiness, name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/", include("parkme.api.urls")),
    path("metrics", metrics.metrics_view, name="metrics"),
]

handler400 = "parkme.api.errors.handler400"
handler403 = "parkme.api.errors.handler403"
handler404 = "parkme.api.errors.handler404"
handler500 = "parkme.api.errors.handler500"
