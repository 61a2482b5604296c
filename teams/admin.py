"""Admin for the organisation graph; every model shows its change history (who, when, what)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from teams.models import (
    Interaction,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    Team,
)


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(OrganizationRole)
class OrganizationRoleAdmin(SimpleHistoryAdmin):
    list_display = ["organization", "user", "role"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "organization__slug"]
    list_select_related = ["organization", "user"]
    raw_id_fields = ["user"]


@admin.register(OrgUnit)
class OrgUnitAdmin(SimpleHistoryAdmin):
    list_display = ["slug", "name", "kind", "organization", "parent"]
    list_filter = ["organization", "kind"]
    search_fields = ["slug", "name"]
    list_select_related = ["organization", "parent"]
    raw_id_fields = ["parent"]


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["slug", "name", "type", "specialty", "organization", "unit"]
    list_filter = ["organization", "type", "specialty"]
    search_fields = ["slug", "name"]
    list_select_related = ["organization", "unit"]
    raw_id_fields = ["unit", "manager"]


@admin.register(Person)
class PersonAdmin(SimpleHistoryAdmin):
    list_display = ["email", "name", "organization", "user"]
    list_filter = ["organization"]
    search_fields = ["email", "name"]
    list_select_related = ["organization", "user"]
    raw_id_fields = ["user"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["person", "team", "role", "allocation_percent", "organization"]
    list_filter = ["organization", "role"]
    search_fields = ["person__email", "team__slug"]
    list_select_related = ["organization", "person", "team"]
    raw_id_fields = ["person", "team"]


@admin.register(ServesLink)
class ServesLinkAdmin(SimpleHistoryAdmin):
    list_display = ["person", "team", "note", "organization"]
    list_filter = ["organization"]
    search_fields = ["person__email", "team__slug"]
    list_select_related = ["organization", "person", "team"]
    raw_id_fields = ["person", "team"]


@admin.register(Interaction)
class InteractionAdmin(SimpleHistoryAdmin):
    list_display = ["source", "mode", "target", "severity", "since", "expected_end"]
    list_filter = ["organization", "mode", "severity"]
    search_fields = ["source__slug", "target__slug"]
    list_select_related = ["source", "target"]
    raw_id_fields = ["source", "target"]


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ["kind", "slug", "name", "team", "organization"]
    list_filter = ["organization", "kind"]
    search_fields = ["slug", "name", "team__slug"]
    list_select_related = ["organization", "team"]
    raw_id_fields = ["team"]
