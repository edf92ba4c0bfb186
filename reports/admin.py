from django.contrib import admin

from reports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "plan", "scope", "period", "status", "rows_done", "rows_total", "requested_by", "created_at")
    list_filter = ("status",)
    list_select_related = ("plan", "scope", "period", "requested_by")
    readonly_fields = ("rows_done", "rows_total", "started_at", "finished_at", "created_at", "updated_at", "error")
    raw_id_fields = ("plan", "scope", "period", "requested_by")
