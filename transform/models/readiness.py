"""Nightly readiness snapshots per team and organisation (docs/readiness.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from teams.models import Organization


class ReadinessSnapshot(models.Model):
    """The nightly readiness of one team (``team`` set) or the organisation (``team`` null) for
    one survey period, as ``transform.readiness`` computed it, kept for trends, the heat map and
    drop alerts. Stores suppressed results too, with ``score`` null, so history never shows what
    the API would hide."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    respondents = models.PositiveIntegerField(default=0)
    suppressed = models.BooleanField(default=False)
    score = models.FloatField(null=True, blank=True)
    barrier = models.CharField(max_length=32, blank=True, default="")
    trend = models.CharField(max_length=8, blank=True, default="")
    delta = models.FloatField(null=True, blank=True)
    components = models.JSONField(default=dict, blank=True)
    signals = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["period_start", "team_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "team", "period_start"],
                name="one_readiness_snapshot_per_team_period",
                violation_error_message="This team's readiness for the period is already stored.",
            ),
            models.UniqueConstraint(
                fields=["organization", "period_start"],
                condition=Q(team__isnull=True),
                name="one_org_readiness_snapshot_per_period",
                violation_error_message="The organisation's readiness for the period is stored.",
            ),
        ]

    def __str__(self) -> str:
        return f"readiness {self.team or self.organization} {self.period_start}: {self.score}"
