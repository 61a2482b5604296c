"""Admin pages of transformations: read the plan and its audit trail; edit through the API."""

from django.contrib import admin

from transform.models import (
    CheckIn,
    CheckinSettings,
    Delivery,
    Instrument,
    Milestone,
    MilestoneChange,
    MilestoneEvent,
    ReadinessSnapshot,
    SignalEvent,
    TeamVerification,
    Transformation,
)


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


# --- the rhythm: settings are editable; check-ins, deliveries and signals are read-only records.
# Survey responses are not registered at all: nobody browses individual answers (docs/anonymity.md).


@admin.register(CheckinSettings)
class CheckinSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "channel", "survey_every_days", "min_group_size"]
    # The Slack bot token is set through the settings API and never shown back, here neither.
    exclude = ["slack_bot_token"]


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "organization", "kind", "title"]
    list_filter = ["organization", "kind"]
    readonly_fields = ["organization", "key", "version", "title", "kind", "source"]


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "recipient", "subject", "period", "answered_at", "expires_at"]
    list_filter = ["kind", "organization"]
    search_fields = ["recipient__email", "subject"]
    # The nonce is half of a live link: never shown.
    exclude = ["link_nonce"]
    readonly_fields = [
        "organization",
        "transformation",
        "kind",
        "recipient",
        "subject",
        "period",
        "period_start",
        "milestone",
        "team",
        "instruments",
        "created_at",
        "expires_at",
        "answered_at",
        "reminders_sent",
    ]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "recipient", "channel", "status", "attempts", "created_at"]
    list_filter = ["status", "kind", "channel", "organization"]
    search_fields = ["recipient__email", "dedupe_key"]
    readonly_fields = [
        "organization",
        "kind",
        "dedupe_key",
        "recipient",
        "checkin",
        "channel",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "claimed_by",
        "last_error",
        "created_at",
        "sent_at",
    ]


@admin.register(SignalEvent)
class SignalEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "external_id", "team", "occurred_at", "organization"]
    list_filter = ["kind", "organization"]
    search_fields = ["external_id"]


@admin.register(ReadinessSnapshot)
class ReadinessSnapshotAdmin(admin.ModelAdmin):
    list_display = ["organization", "team", "period_start", "score", "suppressed", "trend"]
    list_filter = ["organization", "suppressed"]
    # Only what the API would show: a suppressed snapshot has no score to begin with.
    readonly_fields = [
        "organization",
        "team",
        "period_start",
        "period_end",
        "respondents",
        "suppressed",
        "score",
        "barrier",
        "trend",
        "delta",
        "components",
        "signals",
        "computed_at",
    ]


@admin.register(TeamVerification)
class TeamVerificationAdmin(admin.ModelAdmin):
    list_display = ["team", "verified_by", "verified_at", "confirmed"]
    list_filter = ["confirmed"]
