"""Stored answers to check-ins; survey answers are anonymous by construction (docs/responses.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from teams.models import Organization
from transform.models.checkins import CheckIn


class ResponseKind(models.TextChoices):
    MILESTONE_STATUS = "milestone_status", "Milestone status"
    SURVEY = "survey", "Survey"
    TOPOLOGY_VERIFICATION = "topology_verification", "Topology verification"


class Response(models.Model):
    """One answered check-in's answers and scores.

    Survey responses are anonymous by construction: no person, no check-in, only the team the
    survey was sent for, the period and the day (not the time) it was answered. ``answers`` is
    ``{instrument_key: {question: value}}``; ``scores`` is ``{signal_kind: value}``
    (``transform.instruments.scoring.score_response`` over every instrument answered)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=ResponseKind.choices)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    period_start = models.DateField()
    submitted_on = models.DateField()
    instruments = models.JSONField(default=list)
    answers = models.JSONField(default=dict)
    scores = models.JSONField(default=dict)
    # Only for non-anonymous kinds (milestone status, topology verification): who reported.
    checkin = models.OneToOneField(
        CheckIn, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )

    class Meta:
        ordering = ["-submitted_on", "-id"]
        indexes = [
            models.Index(fields=["organization", "period_start"]),
            # The rollups' staleness check reads an organisation's newest answer: without this
            # index it walks the primary key backwards through every other organisation's newer
            # answers (0.5 s behind a million of them).
            models.Index(fields=["organization", "id"], name="response_org_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="survey") | Q(checkin__isnull=True),
                name="survey_response_is_anonymous",
                violation_error_message="A survey response is never linked to its check-in.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} response {self.pk} ({self.period_start})"
