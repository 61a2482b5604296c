"""An organisation's rhythm settings: cadences, channel, reminders, escalation, alert and
anonymity thresholds (docs/checkins.md)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from teams.models import BaseModel, Organization

# The longest lead-time cut-off an organisation may set: a day. Longer would leave out ordinary
# same-day changes and make the median meaningless.
MAX_LEAD_TIME_MIN_CHANGE_MINUTES: Final = 1440


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Chat webhook"
    # Check-ins and reminders as Slack direct messages (Web API); alerts and digests to the
    # Slack alert channel (docs/integrations.md#slack-and-microsoft-teams).
    SLACK = "slack", "Slack"
    # Alerts and digests to a Microsoft Teams channel; check-ins and reminders by e-mail.
    MSTEAMS = "msteams", "Microsoft Teams"


def default_pulse_instruments() -> list[str]:
    return ["westrum", "adkar", "platform-satisfaction"]


def default_event_surveys() -> list[dict[str, str]]:
    return [{"event": "first_deploy", "instrument": "platform-satisfaction"}]


class CheckinSettings(BaseModel):
    """An organisation's rhythm: cadences, channel, reminders, escalation, alert and anonymity
    thresholds. Optional: an organisation without a row uses the field defaults
    (``transform.rhythm.selectors.checkin_settings_get``)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="checkin_settings"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    webhook_url = models.URLField(
        max_length=500, blank=True, default="", help_text="Slack-compatible incoming webhook."
    )
    slack_bot_token = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Slack bot token (xoxb-...) for the Slack channel; never shown back.",
    )
    slack_alert_channel = models.CharField(
        max_length=80,
        blank=True,
        default="",
        help_text="Slack channel id (C...) that alerts and digests are posted to.",
    )
    msteams_webhook_url = models.URLField(
        max_length=500,
        blank=True,
        default="",
        help_text="Microsoft Teams incoming webhook (alerts and digests only).",
    )
    survey_every_days = models.PositiveIntegerField(default=14)
    pulse_instruments = models.JSONField(
        default=default_pulse_instruments,
        help_text="Instrument keys asked in every pulse survey, latest version each.",
    )
    event_surveys = models.JSONField(
        default=default_event_surveys,
        blank=True,
        help_text='Surveys an ingested event triggers: [{"event": KIND, "instrument": KEY}].',
    )
    topology_verify_every_days = models.PositiveIntegerField(default=90)
    link_valid_days = models.PositiveIntegerField(default=7)
    reminder_after_days = models.PositiveIntegerField(default=3)
    max_reminders = models.PositiveIntegerField(default=2)
    escalate_blocked_after_days = models.PositiveIntegerField(default=7)
    readiness_drop_alert = models.FloatField(
        default=10.0, help_text="Readiness points a team may lose from one period to the next."
    )
    digest_weekday = models.PositiveSmallIntegerField(
        default=0, help_text="ISO weekday - 1 on which the leaders' digest goes out (0 = Monday)."
    )
    min_group_size = models.PositiveIntegerField(default=5)
    min_free_text_group_size = models.PositiveIntegerField(default=10)
    lead_time_min_change_minutes = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Lead time for changes leaves out changes that took fewer minutes than this from "
            "commit to deploy: 0 counts every change (dora.dev), 1 leaves out those under a "
            "minute (Four Keys). At most 1440 (a day)."
        ),
    )
    # Who changed which setting, when (docs/audit.md); the webhook URL is masked when shown.
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "check-in settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(survey_every_days__gte=1)
                & Q(topology_verify_every_days__gte=1)
                & Q(link_valid_days__gte=1),
                name="checkin_settings_cadences_positive",
                violation_error_message="Cadences and link validity are at least one day.",
            ),
            models.CheckConstraint(
                condition=Q(min_group_size__gte=3)
                & Q(min_free_text_group_size__gte=models.F("min_group_size")),
                name="checkin_settings_anonymity_floor",
                violation_error_message=(
                    "min_group_size is at least 3 and min_free_text_group_size at least "
                    "min_group_size."
                ),
            ),
            models.CheckConstraint(
                condition=Q(digest_weekday__lte=6),
                name="checkin_settings_digest_weekday",
                violation_error_message="digest_weekday is 0 (Monday) to 6 (Sunday).",
            ),
            models.CheckConstraint(
                condition=Q(lead_time_min_change_minutes__lte=MAX_LEAD_TIME_MIN_CHANGE_MINUTES),
                name="checkin_settings_lead_time_cut_off",
                violation_error_message=(
                    "lead_time_min_change_minutes is 0 (dora.dev: every change) to "
                    f"{MAX_LEAD_TIME_MIN_CHANGE_MINUTES} (a day)."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"check-in settings of {self.organization}"

    @property
    def lead_time_min_change_age(self) -> dt.timedelta:
        """The lead-time cut-off as ``transform.evidence.metrics.dora_metrics`` takes it."""
        return dt.timedelta(minutes=self.lead_time_min_change_minutes)
