"""Query-string filters of the signal events list (documented in the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from core.api import SlugFilter
from core.bounds import DATE_RANGE_HELP, day_in_range
from core.errors import ApplicationError
from core.moments import moment_parse
from teams.models import Organization, Team
from teams.selectors import team_attribution
from transform.evidence.selectors import signal_events_of_team_q
from transform.models import SignalEvent, SignalEventKind


def aware_moment_parse(value: Any) -> dt.datetime:
    """An ISO 8601 date-time with a time zone offset, on a day within ``core.bounds``'s range; a
    naive one is refused, never guessed. Raises ``ValueError`` saying what was wrong."""
    moment = moment_parse(str(value), naive="refuse")
    if not day_in_range(moment.date()):
        raise ValueError(f"Expected a date-time on {DATE_RANGE_HELP}.")
    return moment


class AwareMomentField(forms.Field):
    """``aware_moment_parse`` as a form field."""

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        try:
            return aware_moment_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class AwareMomentFilter(django_filters.Filter):
    field_class = AwareMomentField


class SignalEventFilter(django_filters.FilterSet):
    """``kind``, ``team`` (a slug of the organisation, current, former or of a retired team: an
    unknown one is a 400 naming it; a first deploy is listed under its subject team; the events
    of the teams merged or split into it come too, see ``signal_events_of_team_q``),
    ``since <= occurred_at < until``."""

    kind = django_filters.ChoiceFilter(choices=SignalEventKind.choices)
    team = SlugFilter(
        method="filter_team",
        max_length=100,
        help_text="Team slug, also of a retired team or a former slug (first_deploy events: "
        "their subject team). The events of the teams merged into it, and those of a team split "
        "into it up to the split, come too.",
    )
    since = AwareMomentFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="occurred_at >= since."
    )
    until = AwareMomentFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="occurred_at < until."
    )

    class Meta:
        model = SignalEvent
        fields = ["kind", "team", "since", "until"]

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def filter_team(
        self, queryset: QuerySet[SignalEvent], name: str, value: str
    ) -> QuerySet[SignalEvent]:
        team_id = team_attribution(organization=self.organization).team_id_for(value)
        if team_id is None:
            message = f"No team '{value}' in organisation '{self.organization.slug}'."
            raise ApplicationError(message, extra={"fields": {"team": [message]}})
        team = Team.all_objects.get(pk=team_id)
        return queryset.filter(signal_events_of_team_q(team=team))
