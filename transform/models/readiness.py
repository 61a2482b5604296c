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


class SurveyRollupScope(models.TextChoices):
    TEAM = "team", "Answers given for a team"
    ROOT = "root", "Answers given for no team"
    LATE = "late", "Answers submitted on or after the period's end"
    CONFIDENCE = "confidence", "Milestone owners' check-in confidence"
    POOL = "pool", "The closing pool's batches"


class SurveyRollup(models.Model):
    """The survey answers of one organisation and survey period, aggregated for the readiness
    report (docs/readiness.md, "How figures are stored"), so requests never read the answers.

    ``scope`` says what the row holds:

    - ``team`` (``team`` set) and ``root`` (answers given for no team): the on-time answers'
      published batches of ``size`` (docs/anonymity.md, "Anonymity over time"), one family per
      measured thing: ``published`` answers as a whole and, per survey-derived kind,
      ``<kind>_count`` answers with that kind and the sum of their values. ``pending`` holds the
      answers of each family still waiting for a batch (fewer than ``size``) as
      ``{"answers": [id, ...], "<kind>": [[id, value], ...]}``: they pool into the organisation's
      batches once the period has closed. ``received`` counts every answer given for the group,
      late ones included.
    - ``late``: the answers submitted on or after ``period_end``, every one in ``pending`` (they
      join the closing pool after the leftovers).
    - ``pool``: once the period is over, the organisation's batches cut from every group's
      waiting answers and then the late ones, in id order (counters as for a team); recomputed
      whenever an answer of the closed period is applied.
    - ``confidence``: milestone owners' status answers with a confidence: ``received`` answers,
      their sum in ``checkin_confidence_sum``, the distinct owners in ``pending["people"]`` and
      their number in ``published``.

    Kept current by ``transform.readiness.rollups.survey_rollups_refresh`` from the answers in
    arrival (id) order; rebuilt for a period whose ``size`` or ``period_end`` no longer matches.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    scope = models.CharField(max_length=16, choices=SurveyRollupScope.choices)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    size = models.PositiveSmallIntegerField()
    received = models.PositiveIntegerField(default=0)
    published = models.PositiveIntegerField(default=0)
    westrum_score_count = models.PositiveIntegerField(default=0)
    westrum_score_sum = models.FloatField(default=0.0)
    adkar_awareness_count = models.PositiveIntegerField(default=0)
    adkar_awareness_sum = models.FloatField(default=0.0)
    adkar_desire_count = models.PositiveIntegerField(default=0)
    adkar_desire_sum = models.FloatField(default=0.0)
    adkar_knowledge_count = models.PositiveIntegerField(default=0)
    adkar_knowledge_sum = models.FloatField(default=0.0)
    adkar_ability_count = models.PositiveIntegerField(default=0)
    adkar_ability_sum = models.FloatField(default=0.0)
    adkar_reinforcement_count = models.PositiveIntegerField(default=0)
    adkar_reinforcement_sum = models.FloatField(default=0.0)
    platform_satisfaction_count = models.PositiveIntegerField(default=0)
    platform_satisfaction_sum = models.FloatField(default=0.0)
    checkin_confidence_sum = models.FloatField(default=0.0)
    pending = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["period_start", "scope", "team_id"]
        indexes = [models.Index(fields=["organization", "period_start"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "team"],
                condition=Q(scope="team"),
                name="one_survey_rollup_per_team_period",
                violation_error_message="This team's survey rollup for the period is stored.",
            ),
            models.UniqueConstraint(
                fields=["organization", "period_start", "scope"],
                condition=Q(team__isnull=True),
                name="one_survey_rollup_per_scope_period",
                violation_error_message="This survey rollup of the period is already stored.",
            ),
            models.CheckConstraint(
                condition=Q(scope="team", team__isnull=False)
                | (~Q(scope="team") & Q(team__isnull=True)),
                name="survey_rollup_team_iff_team_scope",
                violation_error_message="Only a team's survey rollup names a team.",
            ),
        ]

    def __str__(self) -> str:
        return f"survey rollup {self.scope} {self.team_id or ''} {self.period_start}"


class SurveyRollupState(models.Model):
    """How far an organisation's ``SurveyRollup`` rows are current: every response with an id up
    to ``last_response_id`` is in them. Its row is locked while answers are stored and rollups
    updated, so answers of one organisation are counted one at a time, in id order."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    last_response_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"survey rollups of {self.organization_id} up to {self.last_response_id}"
