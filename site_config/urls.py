from django.contrib import admin
from django.urls import include, path

from accounts.urls import cedula_patterns
from site_config.views import health

admin.site.site_header = "PaginaMadre — administración"
admin.site.site_title = "PaginaMadre"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("", include(cedula_patterns)),
    path("", include("accounts.urls")),
]
