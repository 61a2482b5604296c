"""The living demo's delivery events (docs/demo.md): the weekly deploys, incidents, tickets,
adoptions and first deploys that make every KPI chart and heat-map period of ``make run`` show
data, as records in the signal-event ingest format.

The boundary with ``transform.demo``: this module only *describes* events, from the
organisation's topology and a seeded random generator, and writes nothing; the demo's story
decides when the transformation started and ingests the records through
``signal_events_ingest`` like any import from a delivery tool.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from teams.models import Interaction, InteractionMode, Membership, Organization, Team, TeamType
from transform.evidence.records import iso_utc

# The platform capabilities teams adopt, one more team every other week.
CAPABILITIES = ("ci", "logging", "observability", "kubernetes", "feature-flags", "secrets")


def demo_signal_records(
    *, organization: Organization, start: dt.datetime, weeks: int, at: dt.datetime, seed: int
) -> list[dict[str, Any]]:
    """Every week from ``start`` (``weeks`` weeks before ``at``): deploys of every team outside the
    silos (more each month, shorter lead times, fewer failures, a few rework), an incident per
    failed deploy, tickets from teams into the teams they depend on by ticket (fewer and closed
    sooner), a platform adoption most weeks and a newcomer's first deploy every other week.
    Deterministic for its arguments; records in the ingest format
    (docs/signal-events-format.md). Reads the organisation's live teams, ticket dependencies and
    members (three queries); writes nothing. No weeks, or no team outside the silos, describe no
    deploys and no adoptions (never an error)."""
    rng = random.Random(seed)
    teams = list(
        Team.objects.filter(organization=organization, retired_at__isnull=True)
        .exclude(type=TeamType.OPS_SILO)
        .order_by("slug")
        .values_list("slug", flat=True)
    )
    tickets = list(
        Interaction.objects.filter(
            organization=organization, mode=InteractionMode.TICKET_DEPENDENCY
        )
        .order_by("source__slug", "target__slug")
        .values_list("source__slug", "target__slug")
    )
    members = list(
        Membership.objects.filter(organization=organization)
        .exclude(team__type=TeamType.OPS_SILO)
        .order_by("person__email")
        .values_list("person__email", flat=True)
        .distinct()
    )
    records: list[dict[str, Any]] = []

    def when(week: int, day: float, hour: float) -> dt.datetime | None:
        moment = start + dt.timedelta(weeks=week, days=day, hours=hour)
        return moment if moment < at - dt.timedelta(hours=1) else None

    incident = 0
    for week in range(max(weeks, 0) + 1):
        progress = week / weeks if weeks > 0 else 1.0
        for slug in teams:
            for n in range(1 + round(progress * 4 + rng.uniform(0, 1.5))):
                moment = when(week, rng.randint(0, 4), rng.uniform(0, 8))
                if moment is None:
                    continue
                lead = rng.uniform(40, 70) * (1 - 0.75 * progress)
                commits = sorted(
                    moment - dt.timedelta(hours=lead * rng.uniform(0.6, 1.4))
                    for _ in range(rng.randint(1, 3))
                )
                failed = rng.random() < 0.25 - 0.17 * progress
                deploy_id = f"demo-deploy-{slug}-{week}-{n}"
                records.append(
                    {
                        "kind": "deploy",
                        "id": deploy_id,
                        "team": slug,
                        "occurred_at": iso_utc(moment),
                        "commit_times": [iso_utc(c) for c in commits],
                        "caused_failure": failed,
                        "is_rework": rng.random() < 0.08,
                    }
                )
                if failed:
                    incident += 1
                    opened = moment + dt.timedelta(minutes=rng.randint(10, 120))
                    resolved = opened + dt.timedelta(
                        hours=rng.uniform(2, 10) * (1 - 0.6 * progress)
                    )
                    records.append(
                        {
                            "kind": "incident",
                            "id": f"DEMO-INC-{incident}",
                            "team": slug,
                            "occurred_at": iso_utc(opened),
                            "resolved_at": iso_utc(resolved) if resolved < at else None,
                            "caused_by_deploy": deploy_id,
                        }
                    )
        for source, target in tickets:
            for n in range(round(3 - 2 * progress + rng.uniform(0, 1))):
                filed = when(week, rng.randint(0, 4), rng.uniform(0, 8))
                if filed is None:
                    continue
                closed = filed + dt.timedelta(days=rng.uniform(2, 6) * (1 - 0.6 * progress))
                records.append(
                    {
                        "kind": "ticket",
                        "id": f"DEMO-TICKET-{source}-{target}-{week}-{n}",
                        "team": source,
                        "occurred_at": iso_utc(filed),
                        "closed_at": iso_utc(closed) if closed < at else None,
                        "waiting_on": target,
                        "developers_waiting": rng.randint(1, 3),
                    }
                )
        # One more team adopts a capability every other week; in between, a team already on
        # the platform takes another. Only the first Kubernetes adoption was mandated.
        adopted = when(week, 2, 4)
        if adopted is not None and teams:
            slug = teams[min(week // 2, len(teams) - 1)]
            capability = CAPABILITIES[(week // 2 + week % 2) % len(CAPABILITIES)]
            records.append(
                {
                    "kind": "adoption",
                    "id": f"demo-adopt-{slug}-{capability}",
                    "team": slug,
                    "occurred_at": iso_utc(adopted),
                    "capability": capability,
                    "mandated": week == 3,
                }
            )
        first = when(week, 3, 2)
        if first is not None and week % 2 == 0 and members:
            subject = members[(week * 7) % len(members)]
            waited = rng.uniform(12, 20) * (1 - 0.6 * progress)
            records.append(
                {
                    "kind": "first_deploy",
                    "id": f"demo-onboard-{week}",
                    "subject": subject,
                    "occurred_at": iso_utc(first),
                    "joined_at": iso_utc(first - dt.timedelta(days=waited)),
                }
            )
    return records
