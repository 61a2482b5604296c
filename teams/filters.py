"""Query-string filters of the organisation graph's list endpoints (documented in docs/api.md).

Teams are named by slug and people by id, as in the payloads. A value that is not one of a
field's choices (or not a number where a number is expected) is a 400 with a field error.
"""

import django_filters
from django.db.models import QuerySet

from core.api import IdFilter
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    MembershipRole,
    OrganizationRole,
    Person,
    Role,
    ServesLink,
    Severity,
    Specialty,
    Team,
    TeamType,
)

TEAM_STATUSES = [("live", "Live"), ("retired", "Retired"), ("all", "All")]


class TeamFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=TeamType.choices)
    specialty = django_filters.ChoiceFilter(choices=Specialty.choices)
    unit = django_filters.CharFilter(field_name="unit__slug", help_text="Unit slug.")
    status = django_filters.ChoiceFilter(
        choices=TEAM_STATUSES,
        method="filter_status",
        help_text="live (default): teams in the graph; retired: merged, split or retired; all.",
    )

    class Meta:
        model = Team
        fields = ["type", "specialty", "unit", "status"]

    @property
    def qs(self) -> QuerySet[Team]:
        rows = super().qs
        if not self.form.cleaned_data.get("status"):
            rows = rows.filter(retired_at__isnull=True)
        return rows

    def filter_status(self, queryset: QuerySet[Team], name: str, value: str) -> QuerySet[Team]:
        if value == "live":
            return queryset.filter(retired_at__isnull=True)
        if value == "retired":
            return queryset.filter(retired_at__isnull=False)
        return queryset


class PersonFilter(django_filters.FilterSet):
    # A person is in a team at most once (unique membership), so this join adds no duplicates.
    team = django_filters.CharFilter(
        field_name="memberships__team__slug", help_text="Slug of a team the person is a member of."
    )
    email = django_filters.CharFilter(
        field_name="email", lookup_expr="iexact", help_text="E-mail, case-insensitive."
    )
    search = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", help_text="Part of the name, case-insensitive."
    )

    leaver = django_filters.BooleanFilter(
        field_name="left_on", lookup_expr="isnull", exclude=True, help_text="true: only leavers."
    )

    class Meta:
        model = Person
        fields = ["team", "email", "search", "leaver"]


class MembershipFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", help_text="Team slug.")
    person = IdFilter(field_name="person_id", help_text="Person id.")
    role = django_filters.ChoiceFilter(choices=MembershipRole.choices)

    class Meta:
        model = Membership
        fields = ["team", "person", "role"]


class ServesLinkFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", help_text="Team slug.")
    person = IdFilter(field_name="person_id", help_text="Person id.")

    class Meta:
        model = ServesLink
        fields = ["team", "person"]


class InteractionFilter(django_filters.FilterSet):
    mode = django_filters.ChoiceFilter(choices=InteractionMode.choices)
    source = django_filters.CharFilter(field_name="source__slug", help_text="Source team slug.")
    target = django_filters.CharFilter(field_name="target__slug", help_text="Target team slug.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)

    class Meta:
        model = Interaction
        fields = ["mode", "source", "target", "severity"]


class OrganizationRoleFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    user = django_filters.CharFilter(field_name="user__username", help_text="Username.")

    class Meta:
        model = OrganizationRole
        fields = ["role", "user"]
