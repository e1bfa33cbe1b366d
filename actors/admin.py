from django.contrib import admin

from actors.models import SchedulerRun


@admin.register(SchedulerRun)
class SchedulerRunAdmin(admin.ModelAdmin):
    list_display = ("job", "period", "claimed_by", "started_at", "finished_at", "selected", "sent", "skipped")
    list_filter = ("job",)
    readonly_fields = list_display
