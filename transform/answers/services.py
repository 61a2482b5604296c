"""Answering check-ins: validating answers against the exact instrument versions a check-in asks,
and storing them once (docs/responses.md). Which check-in a link names, and whether it is still
open, is ``transform.access.checkin_get_by_link``.

The link is single use by the database: ``checkin_answer`` consumes it with a conditional UPDATE
(``answered_at`` still empty and the link not expired) and carries on only when exactly one row
changed, inside the same transaction that stores the answers. A second answer, a concurrent double
submission or an answer after expiry changes nothing. Reading a check-in (the form's GET, the API's
GET) never consumes it, so mail link scanners that open links first do no harm.

What an answer does depends on the check-in's kind:

- pulse and event surveys store an anonymous ``Response`` (team and period, no check-in, no
  person, the day but not the time);
- a milestone status answer stores a ``Response`` linked to its check-in and moves the milestone
  through ``transform.plans.services.milestone_transition`` (the API's workflow rules);
- a topology verification stores a ``Response`` and a ``TeamVerification``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from core.errors import ApplicationError, ConflictError
from teams.zones import organization_today
from transform.access import (
    CheckinAlreadyAnswered,
    CheckinClosed,
    CheckinLinkExpired,
    CheckinLinkInvalid,
    checkin_open_check,
)
from transform.answers.selectors import (
    MILESTONE_STATUS_TARGET,
    checkin_instruments,
    milestone_status_options,
)
from transform.instruments.format import MILESTONE_STATUS_QUESTION, InstrumentSpec
from transform.instruments.scoring import (
    AnswerError,
    ValidatedAnswers,
    answers_validate,
    score_response,
)
from transform.models import (
    ANONYMOUS_CHECKIN_KINDS,
    CheckIn,
    CheckInKind,
    Milestone,
    MilestoneStatus,
    ProposalStatus,
    Response,
    ResponseKind,
    TeamVerification,
)
from transform.plans.services import milestone_transition, status_words
from transform.readiness.rollups import survey_rollups_lock, survey_rollups_refresh
from transform.rhythm.periods import survey_period
from transform.rhythm.selectors import checkin_settings_get

MILESTONE_NOTE_QUESTION = "note"
TOPOLOGY_QUESTION = "topology"
TOPOLOGY_CONFIRMED = "confirmed"
TOPOLOGY_CORRECTIONS_QUESTION = "corrections"
# A crafted body can name thousands of unknown questions; the 400 lists this many at most.
MAX_FIELD_ERRORS = 50


# --- answering -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answered:
    """One instrument's validated answers."""

    spec: InstrumentSpec
    answers: ValidatedAnswers


def _answer_errors(message: str, errors: Mapping[str, list[str]]) -> ApplicationError:
    shown = dict(list(errors.items())[:MAX_FIELD_ERRORS])
    if len(errors) > MAX_FIELD_ERRORS:
        shown["non_field_errors"] = [
            f"... and {len(errors) - MAX_FIELD_ERRORS} more problems not listed."
        ]
    return ApplicationError(message, extra={"fields": shown})


def answers_validate_for_checkin(
    *, checkin: CheckIn, answers: Any, proposed_changes: Sequence[Mapping[str, Any]] = ()
) -> list[_Answered]:
    """``answers`` (``{instrument_key: {question_key: value}}``) checked against every instrument
    version the check-in asks, plus the rules of its kind (a note for an at-risk or blocked
    milestone, what changed for a topology that needs changes).

    Raises ApplicationError (400) listing every problem under ``extra.fields`` as
    ``"<instrument>.<question>"`` (or ``"<instrument>"``, or ``"answers"``); ConflictError (409)
    for a milestone status the check-in does not offer now (``milestone_status_options``)."""
    if not isinstance(answers, Mapping):
        message = (
            'Answers must be an object: {"<instrument>": {"<question>": value}}; got '
            f"{type(answers).__name__}."
        )
        raise ApplicationError(message, extra={"fields": {"answers": [message]}})
    specs = checkin_instruments(checkin=checkin)
    keys = [spec.key for spec in specs]
    errors: dict[str, list[str]] = {}
    for key in answers:
        if key not in keys:
            errors[str(key)] = [f"unknown instrument; this check-in asks {', '.join(keys)}"]
    answered: list[_Answered] = []
    for spec in specs:
        given = answers.get(spec.key)
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            errors[spec.key] = [
                f"expected an object of answers by question key; got {type(given).__name__}"
            ]
            continue
        try:
            answered.append(_Answered(spec=spec, answers=answers_validate(spec, given)))
        except AnswerError as exc:
            for question, problem in exc.errors.items():
                errors[f"{spec.key}.{question}"] = [problem]
    if not errors:
        errors.update(
            _kind_rule_errors(
                checkin=checkin, answered=answered, has_changes=bool(proposed_changes)
            )
        )
    if not errors:
        _status_offered_check(checkin=checkin, answered=answered)
    if errors:
        count = len(errors)
        first, problems = next(iter(errors.items()))
        raise _answer_errors(
            f"{count} answer{'s are' if count != 1 else ' is'} invalid: {first}: {problems[0]}",
            errors,
        )
    return answered


def _kind_rule_errors(
    *, checkin: CheckIn, answered: Sequence[_Answered], has_changes: bool = False
) -> dict[str, list[str]]:
    if checkin.kind == CheckInKind.MILESTONE_STATUS:
        item = _milestone_answers(answered)
        if item is None:
            return {
                "answers": ["this check-in asks no milestone_status instrument; it cannot be used"]
            }
        reported = item.answers.values.get(MILESTONE_STATUS_QUESTION)
        has_note_question = item.spec.question(MILESTONE_NOTE_QUESTION) is not None
        note = item.answers.values.get(MILESTONE_NOTE_QUESTION)
        if reported in ("at_risk", "blocked") and has_note_question and not note:
            label = reported.replace("_", " ")
            return {
                f"{item.spec.key}.{MILESTONE_NOTE_QUESTION}": [
                    f"say what makes the milestone {label}: a note is required with {label}"
                ]
            }
    if checkin.kind == CheckInKind.TOPOLOGY_VERIFICATION:
        item = _topology_answers(answered)
        if item is None:
            return {"answers": [f"this check-in asks no question '{TOPOLOGY_QUESTION}'"]}
        choice = item.answers.values.get(TOPOLOGY_QUESTION)
        corrections = item.answers.values.get(TOPOLOGY_CORRECTIONS_QUESTION)
        has_corrections = item.spec.question(TOPOLOGY_CORRECTIONS_QUESTION) is not None
        # Structured corrections (the form's proposed changes) say what changed as well.
        if choice != TOPOLOGY_CONFIRMED and has_corrections and not corrections and not has_changes:
            return {
                f"{item.spec.key}.{TOPOLOGY_CORRECTIONS_QUESTION}": [
                    "say what has changed: corrections are required when the record is not right"
                ]
            }
    return {}


def _status_offered_check(*, checkin: CheckIn, answered: Sequence[_Answered]) -> None:
    """ConflictError (409, the workflow's status for a move the current state does not allow)
    when the reported milestone status is not one the check-in offers now: the same set the
    form shows and the link API lists, so nothing offered is refused later by the workflow."""
    offered = milestone_status_options(checkin)
    item = _milestone_answers(answered)
    if offered is None or item is None or checkin.milestone is None:
        return
    reported = item.answers.values.get(MILESTONE_STATUS_QUESTION)
    if reported is None or reported in offered:
        return
    milestone = checkin.milestone
    target = MILESTONE_STATUS_TARGET.get(str(reported), str(reported))
    words = [status_words(status) for status in offered]
    message = (
        f"Milestone '{milestone.title}' cannot go from {status_words(milestone.status)} to "
        f"{status_words(target)}; from {status_words(milestone.status)} this check-in offers: "
        f"{', '.join(words) or 'nothing'}."
    )
    raise ConflictError(
        message,
        extra={
            "fields": {f"{item.spec.key}.{MILESTONE_STATUS_QUESTION}": [message]},
            "from": milestone.status,
            "offered": list(offered),
        },
    )


def _milestone_answers(answered: Sequence[_Answered]) -> _Answered | None:
    return next((item for item in answered if item.spec.kind == "milestone_status"), None)


def _topology_answers(answered: Sequence[_Answered]) -> _Answered | None:
    return next(
        (item for item in answered if item.spec.question(TOPOLOGY_QUESTION) is not None), None
    )


def checkin_answer(
    *,
    checkin: CheckIn,
    answers: Mapping[str, Any],
    at: dt.datetime,
    user: User | None = None,
    proposed_changes: Sequence[Mapping[str, Any]] = (),
) -> Response:
    """Store the answers to ``checkin`` and consume its link, in one transaction.

    ``answers`` is ``{instrument_key: {question_key: value}}``. Raises, storing nothing:
    CheckinAlreadyAnswered / CheckinClosed / CheckinLinkExpired (410) when the check-in is
    answered, closed or expired (also when a concurrent answer or closing won), ApplicationError
    (400) listing every invalid answer by ``"<instrument>.<question>"``, ConflictError (409)
    when the check-in does not offer the reported status or the milestone workflow refuses the
    reported status (the link stays usable). ``user`` is the milestone event's actor (default: the
    recipient's login, if any); it is never stored for surveys. For a milestone status check-in,
    ``checkin.milestone`` is the updated milestone on return. ``proposed_changes`` (scenario
    changes as ``teams.scenarios.change_json`` writes them, validated by the caller: the form's
    structured corrections) are stored on a topology verification that needs changes, as a
    proposal to accept or reject.
    """
    checkin_open_check(checkin=checkin, at=at)
    answered = answers_validate_for_checkin(
        checkin=checkin, answers=answers, proposed_changes=proposed_changes
    )
    scores: dict[str, float] = {}
    for item in answered:
        scores.update(score_response(item.spec, item.answers))
    stored_answers = {item.spec.key: dict(item.answers.values) for item in answered}
    instruments = [[item.spec.key, item.spec.version] for item in answered]
    # The organisation's day, as its survey periods are (docs/time-zones.md).
    day = organization_today(checkin.organization, at)

    with transaction.atomic():
        consumed = CheckIn.objects.filter(
            pk=checkin.pk, answered_at__isnull=True, closed_at__isnull=True, expires_at__gt=at
        ).update(answered_at=at)
        if consumed != 1:
            _raise_not_open(checkin=checkin, at=at)
        response = Response(
            organization=checkin.organization,
            submitted_on=day,
            instruments=instruments,
            answers=stored_answers,
            scores=scores,
        )
        if checkin.kind in ANONYMOUS_CHECKIN_KINDS:
            # Anonymous by construction: no check-in, no person, the day but not the time.
            response.kind = ResponseKind.SURVEY
            response.team = checkin.team
            response.period_start = checkin.period_start
        elif checkin.kind == CheckInKind.MILESTONE_STATUS:
            response.kind = ResponseKind.MILESTONE_STATUS
            response.checkin = checkin
            response.period_start = _survey_period_start(checkin=checkin, day=day)
            status_item = _milestone_answers(answered)
            assert status_item is not None  # answers_validate_for_checkin refused it otherwise
            checkin.milestone = _milestone_report(
                checkin=checkin, item=status_item, actor=user, day=day
            )
        elif checkin.kind == CheckInKind.TOPOLOGY_VERIFICATION:
            response.kind = ResponseKind.TOPOLOGY_VERIFICATION
            response.checkin = checkin
            response.team = checkin.team
            response.period_start = _survey_period_start(checkin=checkin, day=day)
            _team_verification_store(
                checkin=checkin, answered=answered, at=at, proposed_changes=proposed_changes
            )
        else:
            message = f"Check-ins of kind '{checkin.kind}' cannot be answered."
            raise ApplicationError(message, extra={"fields": {"kind": [message]}})
        counted = response.kind in (ResponseKind.SURVEY, ResponseKind.MILESTONE_STATUS)
        if counted:
            # Lock before the insert, so answers get their ids in the order they are counted:
            # publication batches follow ids (docs/readiness.md, "How figures are stored").
            survey_rollups_lock(organization=checkin.organization)
        response.save()
        if counted:
            survey_rollups_refresh(
                organization=checkin.organization,
                settings=checkin_settings_get(organization=checkin.organization),
            )
    checkin.answered_at = at
    return response


def _raise_not_open(*, checkin: CheckIn, at: dt.datetime) -> None:
    current = (
        CheckIn.objects.filter(pk=checkin.pk)
        .values("answered_at", "closed_at", "closed_reason", "expires_at")
        .first()
    )
    if current is None:
        raise CheckinLinkInvalid()
    if current["answered_at"] is not None:
        raise CheckinAlreadyAnswered()
    if current["closed_at"] is not None:
        raise CheckinClosed(current["closed_reason"])
    raise CheckinLinkExpired(current["expires_at"])


def _survey_period_start(*, checkin: CheckIn, day: dt.date) -> dt.date:
    settings = checkin_settings_get(organization=checkin.organization)
    return survey_period(day, settings=settings).start


def _milestone_report(
    *, checkin: CheckIn, item: _Answered, actor: User | None, day: dt.date
) -> Milestone:
    """Move the check-in's milestone to the reported status through the workflow (no move when it
    already has that status). ConflictError when the workflow refuses."""
    if checkin.milestone_id is None:
        message = "This status check-in names no milestone."
        raise ApplicationError(message, extra={"fields": {"milestone": [message]}})
    milestone = Milestone.objects.select_for_update(of=("self",)).get(pk=checkin.milestone_id)
    reported = str(item.answers.values[MILESTONE_STATUS_QUESTION])
    target = MILESTONE_STATUS_TARGET[reported]
    if milestone.status == target:
        return milestone
    note = str(item.answers.values.get(MILESTONE_NOTE_QUESTION, ""))
    if not note and target != MilestoneStatus.IN_PROGRESS:
        # A custom status instrument without a note question: the workflow still wants a reason.
        note = f"Reported {reported.replace('_', ' ')} in the status check-in."
    return milestone_transition(
        milestone=milestone,
        to_status=target,
        actor=actor if actor is not None else checkin.recipient.user,
        reason=note,
        today=day,
    )


def _team_verification_store(
    *,
    checkin: CheckIn,
    answered: Sequence[_Answered],
    at: dt.datetime,
    proposed_changes: Sequence[Mapping[str, Any]] = (),
) -> None:
    if checkin.team_id is None:
        message = "This topology check-in names no team."
        raise ApplicationError(message, extra={"fields": {"team": [message]}})
    item = _topology_answers(answered)
    assert item is not None  # answers_validate_for_checkin refused it otherwise
    confirmed = item.answers.values.get(TOPOLOGY_QUESTION) == TOPOLOGY_CONFIRMED
    changes = [] if confirmed else [dict(change) for change in proposed_changes]
    TeamVerification.objects.create(
        team_id=checkin.team_id,
        verified_by=checkin.recipient,
        verified_at=at,
        confirmed=confirmed,
        corrections=str(item.answers.values.get(TOPOLOGY_CORRECTIONS_QUESTION, "")),
        proposed_changes=changes,
        proposal_status=ProposalStatus.PROPOSED if changes else ProposalStatus.NONE,
    )
