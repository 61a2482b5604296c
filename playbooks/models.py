"""Stored playbooks: a validated playbook file, the organisation's own or a built-in one.

A stored playbook is immutable: its key and version name one content forever, so transformations
started from it keep meaning what they meant. A change is a new version.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from playbooks.format import PlaybookSpec
from teams.models import BaseModel, Organization


class Playbook(BaseModel):
    """One version of a playbook; ``organization`` is null for the built-in library."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="playbooks",
        null=True,
        blank=True,
        help_text="Empty for built-in playbooks, which every organisation can use.",
    )
    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, default="")
    definition = models.JSONField(
        help_text="The validated playbook (see docs/playbook-format.md), as JSON."
    )
    source = models.TextField(help_text="The YAML text the playbook was loaded from.")

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "version"],
                name="unique_playbook_version_per_organization",
                violation_error_message="This organisation already has this playbook version.",
            ),
            # NULLs are distinct in a unique constraint, so built-ins need their own.
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=Q(organization__isnull=True),
                name="unique_builtin_playbook_version",
                violation_error_message="This built-in playbook version already exists.",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="playbook_version_at_least_one",
                violation_error_message="A playbook version is 1 or more.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"

    @property
    def is_builtin(self) -> bool:
        return self.organization_id is None

    @property
    def spec(self) -> PlaybookSpec:
        """The stored definition as a validated PlaybookSpec."""
        return PlaybookSpec.model_validate(self.definition)
