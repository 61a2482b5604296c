"""Calendar feeds: the secret URLs at which a person's milestones and open check-ins, or a
transformation's milestones, are served as iCalendar (docs/integrations.md, "Calendars").

Only the SHA-256 hash of a feed's token is stored, as for invitations: the URL is shown once,
when it is made or reset, and resetting it replaces the hash, so the old URL stops working.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from teams.models import Organization, Person
from transform.models.plans import Transformation


class CalendarFeedKind(models.TextChoices):
    PERSON = "person", "A person's milestones and open check-ins"
    TRANSFORMATION = "transformation", "Every milestone of a transformation"


class CalendarFeed(models.Model):
    """The secret feed of one person (their milestones and open check-ins) or of one
    transformation (every milestone): at most one of each, whose token can be reset."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=CalendarFeedKind.choices)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    transformation = models.ForeignKey(
        Transformation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feeds",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made or last reset the URL.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reset_at = models.DateTimeField(help_text="When the current URL was made.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=CalendarFeedKind.PERSON, person__isnull=False, transformation=None)
                    | Q(
                        kind=CalendarFeedKind.TRANSFORMATION,
                        person=None,
                        transformation__isnull=False,
                    )
                ),
                name="calendar_feed_names_its_subject",
                violation_error_message="A person's feed names a person, a transformation's "
                "feed a transformation.",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(person__isnull=False),
                name="one_calendar_feed_per_person",
                violation_error_message="This person has a calendar feed already.",
            ),
            models.UniqueConstraint(
                fields=["transformation"],
                condition=Q(transformation__isnull=False),
                name="one_calendar_feed_per_transformation",
                violation_error_message="This transformation has a calendar feed already.",
            ),
        ]

    def __str__(self) -> str:
        subject = self.person if self.kind == CalendarFeedKind.PERSON else self.transformation
        return f"calendar feed of {subject}"
