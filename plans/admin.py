from django.contrib import admin

from plans.models import Plan, Section, WorkItem
from targets.models import Target, TargetChange, TargetNote, TargetPathPoint


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "year", "owner_unit", "status")
    inlines = [SectionInline]


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "section")
    list_filter = ("section__plan",)


class PathPointInline(admin.TabularInline):
    model = TargetPathPoint
    extra = 0


class NoteInline(admin.TabularInline):
    model = TargetNote
    extra = 0
    fields = ("period", "author", "text", "evidence", "review_status", "review_comment")


class ChangeInline(admin.TabularInline):
    # History is written by targets.targets_service only: read-only here.
    model = TargetChange
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "user", "field", "old_value", "new_value", "reason")

    def has_add_permission(self, request, obj=None):  # noqa: ARG002
        return False


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    """Kept for support staff; bureau staff edit targets on the plan pages (rules and history apply there)."""

    list_display = ("code", "plan", "kind", "indicator", "comparator", "target_value", "scope", "milestone_status")
    list_filter = ("plan", "kind")
    search_fields = ("code", "text")
    autocomplete_fields = ()
    raw_id_fields = ("indicator", "scope", "owner_unit", "owner_user", "part_of", "contributes_to")
    inlines = [PathPointInline, NoteInline, ChangeInline]
