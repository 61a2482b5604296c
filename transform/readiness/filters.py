"""Query-string filters of the readiness history (documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from core.api import SlugFilter
from core.errors import ApplicationError
from teams.models import Organization, Team
from teams.selectors import Predecessor, team_predecessors
from transform.models import ReadinessSnapshot
from transform.readiness.selectors import readiness_history_team, readiness_series_q


class ReadinessHistoryFilter(django_filters.FilterSet):
    """``team`` (a slug of the organisation, current, former or of a retired team: an unknown one
    is a 400 naming it; the team's series includes its predecessors' snapshots up to their
    hand-over) and ``scope``."""

    team = SlugFilter(
        method="filter_team",
        max_length=100,
        help_text="Only this team (slug, also former or retired) and the teams merged or split "
        "into it, for the periods before they did. An unknown slug is a 400.",
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

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        series: tuple[Team, list[Predecessor]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``series``: the named team and its predecessors when the caller has resolved them
        already (the history view does, to check access), so they are not read twice."""
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.series = series

    def filter_team(
        self, queryset: QuerySet[ReadinessSnapshot], name: str, value: str
    ) -> QuerySet[ReadinessSnapshot]:
        if self.series is not None:
            team, predecessors = self.series
        else:
            found = readiness_history_team(organization=self.organization, slug=value)
            if found is None:
                message = f"No team with slug '{value}' in organisation '{self.organization.slug}'."
                raise ApplicationError(message, extra={"fields": {"team": [message]}})
            team, predecessors = found, team_predecessors(team=found)
        return queryset.filter(readiness_series_q(team=team, predecessors=predecessors))

    def filter_scope(
        self, queryset: QuerySet[ReadinessSnapshot], name: str, value: str
    ) -> QuerySet[ReadinessSnapshot]:
        if value == "organization" and not self.form.cleaned_data.get("team"):
            return queryset.filter(team__isnull=True)
        return queryset
