from django.contrib import admin

from portal.admin import ConfigHistoryMixin
from schools.models import Designation, DesignationKind, Membership, OrgUnit


@admin.register(OrgUnit)
class OrgUnitAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "level", "school_type", "ownership", "is_central", "is_active", "parent")
    list_filter = ("level", "school_type", "ownership", "is_central", "is_active")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    readonly_fields = ("path", "depth", "config_history")


@admin.register(DesignationKind)
class DesignationKindAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Designation)
class DesignationAdmin(admin.ModelAdmin):
    list_display = ("org_unit", "kind", "level", "granted_on", "revoked_on")
    list_filter = ("kind", "level")
    raw_id_fields = ("org_unit",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "org_unit", "role")
    list_filter = ("role",)
    raw_id_fields = ("user", "org_unit")
