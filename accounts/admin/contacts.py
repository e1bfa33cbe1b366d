"""Admin for contact imports (issue 14): operators read the consent record of each import; read-only."""

from django.contrib import admin

from accounts.admin.audit import AuditedChangeViewMixin
from accounts.models import ContactImport


@admin.register(ContactImport)
class ContactImportAdmin(AuditedChangeViewMixin, admin.ModelAdmin):
    list_display = ("pk", "leader", "file_name", "status", "rows_total", "created", "rejected", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("file_name", "file_sha256", "leader__cedula")
    raw_id_fields = ("leader",)
    exclude = ("staged",)  # up to a few MB of rows; the report has them
    readonly_fields = [f.name for f in ContactImport._meta.fields if f.name != "staged"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("staged")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
