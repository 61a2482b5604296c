"""Query-string filters of the readiness history (documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from core.api import SlugFilter
from core.errors import ApplicationError
from teams.models import Organization, Team
from transform.models import ReadinessSnapshot


class ReadinessHistoryFilter(django_filters.FilterSet):
    """``team`` (a slug of the organisation: an unknown one is a 400 naming it) and ``scope``."""

    team = SlugFilter(
        method="filter_team",
        max_length=100,
        help_text="Only this team (slug). An unknown slug is a 400.",
    )
    scope = django_filters.ChoiceFilter(
        method="filter_scope",
        choices=[("all", "all"), ("organization", "organization")],
        empty_label=None,
        help_text="all (default): the organisation's rows and every team's; organization: only "
        "the organisation's. Ignored with team.",
    )

    class Meta:
        model = ReadinessSnapshot
        fields = ["team", "scope"]

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def filter_team(
        self, queryset: QuerySet[ReadinessSnapshot], name: str, value: str
    ) -> QuerySet[ReadinessSnapshot]:
        if not Team.objects.filter(organization=self.organization, slug=value).exists():
            message = f"No team with slug '{value}' in organisation '{self.organization.slug}'."
            raise ApplicationError(message, extra={"fields": {"team": [message]}})
        return queryset.filter(team__slug=value)

    def filter_scope(
        self, queryset: QuerySet[ReadinessSnapshot], name: str, value: str
    ) -> QuerySet[ReadinessSnapshot]:
        if value == "organization" and not self.form.cleaned_data.get("team"):
            return queryset.filter(team__isnull=True)
        return queryset
