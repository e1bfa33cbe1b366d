"""Admin for census lookups and their change history (imported by accounts/admin.py)."""

from django.conf import settings
from django.contrib import admin, messages

from accounts.admin.audit import AuditedChangeViewMixin
from accounts.copy import refresh_summary
from accounts.models import AuditEntry, CedulaChange, CedulaInfo
from accounts.services.audit import audit_record
from accounts.services.cedulas import QUEUE_LOOKUPS, QUEUE_REFRESH, cedula_refresh_many


@admin.register(CedulaInfo)
class CedulaInfoAdmin(AuditedChangeViewMixin, admin.ModelAdmin):
    list_display = (
        "user",
        "status",
        "departamento",
        "municipio",
        "zona",
        "puesto",
        "mesa",
        "source",
        "attempts",
        "fetched_at",
        "requested_at",
    )
    list_filter = ("status", "source", "departamento", "fetched_at")
    search_fields = ("user__cedula", "user__nombre_completo", "puesto", "municipio")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    ordering = ("-updated_at",)
    actions = ["consultar_de_nuevo"]

    # Census data comes only from the Registraduría: nobody edits a row by hand (a typed
    # voting place would look like an answer). "Consultar de nuevo" asks the site again.
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Consultar de nuevo")
    def consultar_de_nuevo(self, request, queryset):
        users = [info.user for info in queryset.select_related("user")]
        # A handful goes ahead of the nightly backlog; a mass re-check joins it.
        queue = QUEUE_LOOKUPS if len(users) <= settings.LOOKUP_BULK_REFRESH_LIMIT else QUEUE_REFRESH
        outcomes = cedula_refresh_many(requester=request.user, targets=users, queue=queue, budgeted=False)
        accepted = sum(1 for outcome in outcomes.values() if outcome.accepted)
        skipped = len(outcomes) - accepted
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.ADMIN_REFRESH,
            target="cedulainfo",
            row_count=len(outcomes),
            detail=f"accepted={accepted} skipped={skipped}",
        )
        self.message_user(
            request,
            refresh_summary(outcomes, noun=("cédula", "cédulas")),
            messages.SUCCESS if accepted else messages.WARNING,
        )


@admin.register(CedulaChange)
class CedulaChangeAdmin(AuditedChangeViewMixin, admin.ModelAdmin):
    list_display = ("user", "changed_at", "source")
    list_filter = ("source", "changed_at")
    search_fields = ("user__cedula", "user__nombre_completo")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "changed_at", "source", "old", "new")
