"""``python manage.py enact_changes``: enacting a milestone's changes from the command line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from teams.lifecycle import team_retire
from teams.models import Team
from tests.builders import PlanWorld
from transform.models import EventKind, MilestoneChange, MilestoneEvent
from transform.plans.changes import milestone_change_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(plan_world: PlanWorld) -> PlanWorld:
    return plan_world


def _enact(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("enact_changes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_enacts_with_the_named_user_in_the_history(plan: PlanWorld) -> None:
    milestone = plan.milestones["kickoff"]
    milestone_change_add(
        milestone=milestone,
        change={"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
        actor=None,
    )

    out, err = _enact(str(milestone.pk), "--user", "admin")

    assert json.loads(out) == {"teams_created": ["p"]}
    assert "Enacted 1 change(s)" in err
    created = Team.history.get(slug="p", history_type="+")
    assert created.history_user == plan.world.users["admin"]
    assert MilestoneEvent.objects.get(kind=EventKind.ENACTED).actor == plan.world.users["admin"]
    _out, again = _enact(str(milestone.pk))
    assert "no pending changes" in again


def test_it_exits_non_zero_naming_a_change_that_no_longer_applies(plan: PlanWorld) -> None:
    milestone = plan.milestones["kickoff"]
    milestone_change_add(
        milestone=milestone,
        change={"kind": "add_devops_buddy", "team": "acme-search", "person": "alice@acme.test"},
        actor=None,
    )
    team_retire(team=Team.objects.get(slug="acme-search"), source="api")

    with pytest.raises(CommandError, match=r"no team 'acme-search'\. Nothing was changed\."):
        _enact(str(milestone.pk))
    assert MilestoneChange.objects.get().enacted_at is None


@pytest.mark.parametrize(
    ("args", "message"), [(["999999"], "No milestone"), (["x"], "No milestone")]
)
def test_it_refuses_an_unknown_milestone(plan: PlanWorld, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _enact(*args)


def test_it_refuses_an_unknown_user(plan: PlanWorld) -> None:
    with pytest.raises(CommandError, match="--user: no login 'ghost'"):
        _enact(str(plan.milestones["kickoff"].pk), "--user", "ghost")
