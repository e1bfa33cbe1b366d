"""Admin for the audit trail and consents: superusers read them, nobody edits them."""

from django.contrib import admin

from accounts.models import AuditEntry, ConsentRecord, EventLink
from accounts.services.audit import audit_record


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(_ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "target", "row_count", "filters", "detail")
    list_filter = ("action", "at")
    search_fields = ("target", "detail")
    list_select_related = ("actor",)
    date_hierarchy = "at"

    # Who read whom is itself personal data of the staff: superusers only.
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self.has_view_permission(request)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(_ReadOnlyAdmin):
    list_display = ("user", "version", "accepted_at")
    list_filter = ("version",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)


@admin.register(EventLink)
class EventLinkAdmin(_ReadOnlyAdmin):
    list_display = ("name", "leader", "created_at", "expires_at", "signups", "max_signups")
    list_select_related = ("leader",)
    raw_id_fields = ("leader",)
    exclude = ("token",)  # a live link is a credential for the higher limit


class AuditedChangeViewMixin:
    """Writes an AuditEntry each time staff open a member's row, or a list of members'
    rows (with its filter and row count), in the admin."""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}) or {}
        changelist = changelist.get("cl")
        if request.method == "GET" and changelist is not None:
            audit_record(
                actor=request.user,
                action=AuditEntry.Action.ADMIN_VIEW,
                target=f"{self.model._meta.model_name} list",
                filters=request.GET,
                row_count=changelist.result_count,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", 0) == 200:
            audit_record(
                actor=request.user,
                action=AuditEntry.Action.ADMIN_VIEW,
                target=f"{self.model._meta.model_name}:{object_id}"[:100],
            )
        return response
