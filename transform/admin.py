"""Admin pages of transformations: read the plan and its audit trail; edit through the API."""

from django.contrib import admin

from transform.models import Milestone, MilestoneChange, MilestoneEvent, Transformation


class MilestoneInline(admin.TabularInline):
    model = Milestone
    fields = ["key", "title", "owner", "status", "planned_due", "forecast_due", "critical"]
    readonly_fields = ["key", "title", "owner", "status", "planned_due", "forecast_due", "critical"]
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Transformation)
class TransformationAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "organization", "start_date", "planned_end", "forecast_end"]
    list_filter = ["organization"]
    search_fields = ["title"]
    raw_id_fields = ["sponsor", "lead_change_agent", "change_agents", "created_by"]
    inlines = [MilestoneInline]


class MilestoneEventInline(admin.TabularInline):
    model = MilestoneEvent
    fields = ["at", "actor", "kind", "from_status", "to_status", "reason", "data"]
    readonly_fields = ["at", "actor", "kind", "from_status", "to_status", "reason", "data"]
    extra = 0
    can_delete = False


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    # Status, owner and dates change through the services (which record events and recompute
    # the schedule), so they are read-only here.
    list_display = ["key", "transformation", "owner", "status", "forecast_due", "critical"]
    list_filter = ["status", "critical", "owner_role"]
    search_fields = ["key", "title"]
    readonly_fields = [
        "transformation",
        "playbook",
        "key",
        "source_key",
        "owner",
        "status",
        "status_reason",
        "started_on",
        "done_on",
        "reported_due",
        "planned_start",
        "planned_due",
        "forecast_start",
        "forecast_due",
        "slack_days",
        "critical",
        "override_reason",
        "overridden_by",
        "overridden_at",
    ]
    exclude = ["depends_on"]
    inlines = [MilestoneEventInline]


@admin.register(MilestoneChange)
class MilestoneChangeAdmin(admin.ModelAdmin):
    list_display = ["milestone", "position", "enacted_at", "enacted_by"]
    list_filter = ["milestone__transformation__organization"]
    readonly_fields = ["milestone", "position", "change", "created_by", "enacted_at", "enacted_by"]
