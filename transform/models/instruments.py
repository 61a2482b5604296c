"""Stored instrument versions (docs/instruments.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from teams.models import BaseModel, Organization


class Instrument(BaseModel):
    """A stored instrument version (transform/instruments/): a built-in (organization null,
    synced from transform/instruments/library/) or an organisation's own. key@version is
    immutable once stored."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="instruments"
    )
    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)
    source = models.TextField(help_text="The YAML definition as given.")

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "version"],
                name="unique_instrument_version_per_organization",
                violation_error_message="This instrument version already exists.",
            ),
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=Q(organization__isnull=True),
                name="unique_builtin_instrument_version",
                violation_error_message="This built-in instrument version already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"
