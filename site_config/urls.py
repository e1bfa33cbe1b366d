from django.contrib import admin
from django.urls import include, path

from accounts.views_health import health

admin.site.site_header = "PaginaMadre — administración"
admin.site.site_title = "PaginaMadre"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("", include("accounts.urls_cedula")),
    path("", include("accounts.urls")),
]
