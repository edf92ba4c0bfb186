from django.contrib import admin

from plans.models import Plan, Section, WorkItem


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
