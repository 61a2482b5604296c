"""A unique constraint lost to a concurrent write (validation passed, the insert did not) is a
409 naming the field, in the error shape: the caller reloads and tries again."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError

from core.errors import ConflictError
from teams import services
from teams.models import Organization, Team
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def test_a_slug_taken_by_a_concurrent_write_is_a_409_naming_the_field(
    organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    team: Any = TeamFactory(organization=organization, slug="web")

    def lost_the_race(self: Team, *args: Any, **kwargs: Any) -> None:
        raise IntegrityError(
            'duplicate key value violates unique constraint "unique_team_slug_per_organization"'
        )

    monkeypatch.setattr(Team, "save", lost_the_race)
    with pytest.raises(ConflictError) as excinfo:
        services.team_update(team=team, data={"slug": "web-2"}, source="api", actor=None)

    assert excinfo.value.status_code == 409
    assert "saved at the same time" in excinfo.value.message
    assert excinfo.value.extra["fields"] == {
        "slug": ["This value conflicts with an existing row; reload and try again."]
    }
