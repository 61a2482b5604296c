"""Template filters that show codes in words: ``{% load words %}``.

- ``label``: a stored choice value as its label (``at_risk`` -> "At risk", ``engineering_manager``
  -> "Engineering manager"); anything else unchanged, so a value that is already a label is safe.
- ``metric_words``: the analysis' metrics as sentences, by key.
- ``plain``: a sentence with codes in it (an error message of a service: "cannot go from at_risk
  to blocked") with each code that has an underscore written as words ("at risk").

The vocabularies are the models' ``TextChoices``; when two share a value, the first listed wins.
"""

from __future__ import annotations

import functools
import re

from django import template
from django.db import models

from teams import models as team_models
from teams.analysis import metric_texts
from transform.models import checkins, evidence, outbox, plans

register = template.Library()

_CHOICES: tuple[type[models.TextChoices], ...] = (
    plans.MilestoneStatus,
    team_models.Role,
    team_models.MembershipRole,
    team_models.TeamType,
    team_models.InteractionMode,
    team_models.Severity,
    team_models.Specialty,
    team_models.ServiceKind,
    team_models.LineageKind,
    plans.OwnerRole,
    plans.EventKind,
    checkins.CheckInKind,
    checkins.ProposalStatus,
    evidence.SignalEventKind,
    outbox.DeliveryKind,
    outbox.DeliveryStatus,
)
# Words a label keeps capitalised inside a sentence.
_PROPER = ("DevOps", "X-as-a-Service", "OK", "PagerDuty", "GitHub", "GitLab", "Jira", "Slack")
_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


@functools.cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for choices in _CHOICES:
        for value, text in choices.choices:
            labels.setdefault(str(value), str(text))
    # A check-in's answer: the milestone is on track (stored as in_progress).
    labels.setdefault("on_track", "On track")
    return labels


def _in_sentence(text: str) -> str:
    """A label as it reads inside a sentence: lower case but for proper names ("DevOps")."""
    if text.split(" ", 1)[0] in _PROPER:
        return text
    return text[:1].lower() + text[1:]


@register.filter
def label(value: object) -> object:
    """``value``'s label when it is a known choice value; else ``value`` unchanged."""
    if isinstance(value, str):
        return _labels().get(value, value)
    return value


@register.filter
def plain(value: object) -> object:
    """``value`` with each known underscore code (``at_risk``) written as its label in words."""
    if not isinstance(value, str):
        return value
    labels = _labels()
    return _CODE.sub(
        lambda match: (
            _in_sentence(labels[match.group(0)]) if match.group(0) in labels else match.group(0)
        ),
        value,
    )


@register.filter
def metric_words(metrics: object) -> dict[str, str]:
    """The analysis' metrics as sentences by key (``teams.analysis.metric_texts``): "1 of 3
    stream-aligned teams has a DevOps buddy (33%)", not ``stream_aligned_with_buddy_share``."""
    return metric_texts(metrics) if isinstance(metrics, dict) else {}
