from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django_prometheus.exports import ExportToDjangoView

from accounts.urls import cedula_patterns
from site_config import health, metrics
from site_config.views import health as legacy_health

admin.site.site_header = "PaginaMadre — administración"
admin.site.site_title = "PaginaMadre"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Kept for load balancers configured before /healthz: the database check only.
    path("health/", legacy_health, name="health"),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    # Prometheus (internal network only: the reverse proxy refuses these from outside).
    path("metrics", login_not_required(ExportToDjangoView), name="metrics"),
    path("metrics/queues", metrics.queue_metrics, name="metrics-queues"),
    # Browsers ask for /favicon.ico whatever the page says.
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("favicon.ico"), permanent=True)),
        name="favicon",
    ),
    path("", include(cedula_patterns)),
    path("", include("accounts.urls")),
]
