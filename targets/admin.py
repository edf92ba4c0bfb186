"""Django admin for targets, read-only: targets are edited on the portal's target pages (the target service
checks them, keeps their history and recomputes their progress)."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin, ReadOnlyInline
from targets.models import PlanDraft, Target, TargetChange, TargetNote, TargetPathPoint


class PathPointInline(ReadOnlyInline):
    model = TargetPathPoint


class NoteInline(ReadOnlyInline):
    model = TargetNote
    fields = ("period", "author", "text", "evidence", "review_status", "review_comment")


class ChangeInline(ReadOnlyInline):
    # History is written by targets.targets_service only.
    model = TargetChange
    readonly_fields = ("created_at", "user", "field", "old_value", "new_value", "reason")


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin):
    """Kept for support staff; bureau staff edit targets on the plan pages (rules and history apply there)."""

    list_display = ("code", "plan", "kind", "indicator", "comparator", "target_value", "scope", "milestone_status")
    list_filter = ("plan", "kind")
    search_fields = ("code", "text")
    autocomplete_fields = ()
    raw_id_fields = ("indicator", "scope", "owner_unit", "owner_user", "part_of", "contributes_to")
    inlines = [PathPointInline, NoteInline, ChangeInline]


@admin.register(PlanDraft)
class PlanDraftAdmin(ReadOnlyAdmin):
    """Kept for support staff; drafts are reviewed and committed on the portal's import pages."""

    list_display = ("pk", "__str__", "owner", "owner_unit", "status", "committed_plan", "updated_at")
    list_filter = ("status",)
    raw_id_fields = ("owner", "owner_unit", "committed_plan")
