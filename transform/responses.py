"""Answering check-ins: finding a check-in from its signed link, validating answers against the
exact instrument versions it asks, and storing them once (docs/responses.md).

The link is single use by the database: ``checkin_answer`` consumes it with a conditional UPDATE
(``answered_at`` still empty and the link not expired) and carries on only when exactly one row
changed, inside the same transaction that stores the answers. A second answer, a concurrent double
submission or an answer after expiry changes nothing. Reading a check-in (the form's GET, the API's
GET) never consumes it, so mail link scanners that open links first do no harm.

What an answer does depends on the check-in's kind:

- pulse and event surveys store an anonymous ``Response`` (team and period, no check-in, no
  person, the day but not the time);
- a milestone status answer stores a ``Response`` linked to its check-in and moves the milestone
  through ``transform.services.milestone_transition`` (the API's workflow rules);
- a topology verification stores a ``Response`` and a ``TeamVerification``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from rest_framework import status
from rest_framework.exceptions import NotFound

from teams.models import Organization
from transform import links
from transform.errors import ApplicationError
from transform.instrument_store import instrument_get
from transform.instruments import (
    MILESTONE_STATUS_QUESTION,
    AnswerError,
    InstrumentSpec,
    ValidatedAnswers,
    answers_validate,
    score_response,
)
from transform.models import (
    ANONYMOUS_CHECKIN_KINDS,
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Milestone,
    MilestoneStatus,
    Response,
    ResponseKind,
    SignalEvent,
    SignalEventKind,
    TeamVerification,
)
from transform.rhythm import checkin_settings_get, survey_period
from transform.services import milestone_transition

# What a milestone status answer asks of the workflow; an answer equal to the current status
# changes nothing (a milestone reported "at risk" two weeks running stays at risk, once).
MILESTONE_STATUS_TARGET: dict[str, str] = {
    "on_track": MilestoneStatus.IN_PROGRESS,
    "at_risk": MilestoneStatus.AT_RISK,
    "blocked": MilestoneStatus.BLOCKED,
}
MILESTONE_NOTE_QUESTION = "note"
TOPOLOGY_QUESTION = "topology"
TOPOLOGY_CONFIRMED = "confirmed"
TOPOLOGY_CORRECTIONS_QUESTION = "corrections"
# A crafted body can name thousands of unknown questions; the 400 lists this many at most.
MAX_FIELD_ERRORS = 50
# Longer than any token this project signs; a longer one is not parsed at all.
MAX_TOKEN_LENGTH = 300
_MAX_ID = 2**63 - 1


class CheckinLinkError(ApplicationError):
    """A check-in cannot be answered: its link is invalid or unknown (404), it expired (410) or it
    was already answered (410). ``extra`` is ``{"state": "invalid" | "expired" | "answered"}``."""

    status_code: int = status.HTTP_404_NOT_FOUND
    state = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, extra={"state": self.state})


class CheckinLinkInvalid(CheckinLinkError):
    """A malformed token, a bad signature, an unknown check-in or a wrong nonce: one message for
    all, so ids cannot be probed."""

    status_code = status.HTTP_404_NOT_FOUND
    state = "invalid"

    def __init__(self) -> None:
        super().__init__(
            "This check-in link is not valid. Open the complete link from your message; if it "
            "still fails, the link was replaced by a newer one."
        )


class CheckinLinkExpired(CheckinLinkError):
    status_code = status.HTTP_410_GONE
    state = "expired"

    def __init__(self, expires_at: dt.datetime) -> None:
        super().__init__(
            f"This check-in link expired on {expires_at:%Y-%m-%d at %H:%M %Z}; answers can no "
            "longer be given through it. The next check-in will bring a new link."
        )


class CheckinAlreadyAnswered(CheckinLinkError):
    status_code = status.HTTP_410_GONE
    state = "answered"

    def __init__(self) -> None:
        super().__init__(
            "This check-in has already been answered; each link can be used once. Thank you."
        )


# --- reading -------------------------------------------------------------------------------------


def checkin_from_token(*, token: str) -> CheckIn:
    """The check-in a link's token names, whatever its state (expired, answered).

    Raises CheckinLinkInvalid (404) for a malformed token, a bad signature, an unknown check-in
    or a nonce that does not match (compared in constant time), all with the same message."""
    parsed = (
        links.checkin_token_parse(token)
        if isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH
        else None
    )
    if parsed is None or parsed[0] > _MAX_ID:
        raise CheckinLinkInvalid()
    checkin_id, nonce = parsed
    checkin = (
        CheckIn.objects.select_related("organization", "recipient", "milestone", "team")
        .filter(pk=checkin_id)
        .first()
    )
    if checkin is None or not links.checkin_token_matches(checkin, nonce):
        raise CheckinLinkInvalid()
    return checkin


def checkin_open_check(*, checkin: CheckIn, at: dt.datetime) -> None:
    """Raises CheckinAlreadyAnswered or CheckinLinkExpired (410) unless the check-in can still be
    answered at ``at``. The conditional UPDATE in ``checkin_answer`` is what finally decides."""
    if checkin.answered_at is not None:
        raise CheckinAlreadyAnswered()
    if checkin.expires_at <= at:
        raise CheckinLinkExpired(checkin.expires_at)


def checkin_by_token(*, token: str, at: dt.datetime) -> CheckIn:
    """The open check-in a link's token names. Raises CheckinLinkInvalid (404), CheckinLinkExpired
    or CheckinAlreadyAnswered (410). Never changes anything."""
    checkin = checkin_from_token(token=token)
    checkin_open_check(checkin=checkin, at=at)
    return checkin


def checkin_instruments(*, checkin: CheckIn) -> list[InstrumentSpec]:
    """The exact instrument versions the check-in asks, in its order."""
    return [
        instrument_get(organization=checkin.organization, key=str(key), version=int(version))
        for key, version in checkin.instruments
    ]


def checkin_subject_title(checkin: CheckIn) -> str:
    """What the check-in is about, for people: the milestone's title or the team's name."""
    if checkin.milestone is not None:
        return checkin.milestone.title
    if checkin.team is not None:
        return checkin.team.name
    return checkin.organization.name


def checkin_event_label(checkin: CheckIn) -> str | None:
    """For an event survey (subject ``event:<SignalEvent id>``), the kind of event that triggered
    it ("First deploy"), if the event is still there; None otherwise."""
    if checkin.kind != CheckInKind.EVENT_SURVEY:
        return None
    prefix, _sep, event_id = checkin.subject.partition(":")
    if prefix != "event" or not event_id.isdigit() or int(event_id) > _MAX_ID:
        return None
    kind = (
        SignalEvent.objects.filter(pk=int(event_id), organization_id=checkin.organization_id)
        .values_list("kind", flat=True)
        .first()
    )
    return str(SignalEventKind(kind).label) if kind in SignalEventKind.values else None


def recipient_first_name(checkin: CheckIn) -> str:
    """The recipient's first name only (the form greets them, never shows more)."""
    name = checkin.recipient.name.strip()
    return name.split()[0] if name else ""


def checkin_open_list_for_user(
    *, user: AbstractBaseUser | AnonymousUser, at: dt.datetime
) -> QuerySet[CheckIn]:
    """The check-ins the caller may still answer: their Person (in any organisation) is the
    recipient, not answered, not expired; the soonest to expire first. Rows carry their
    organisation, milestone and team."""
    if not user.is_authenticated:
        return CheckIn.objects.none()
    return (
        CheckIn.objects.filter(
            recipient__user_id=user.pk, answered_at__isnull=True, expires_at__gt=at
        )
        .select_related("organization", "milestone", "team")
        .order_by("expires_at", "id")
    )


def checkin_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, checkin_id: str | int
) -> CheckIn:
    """The check-in ``checkin_id`` if the caller is its recipient's user; NotFound otherwise
    (someone else's check-in looks like one that does not exist)."""
    text = str(checkin_id)
    if not user.is_authenticated or not text.isdigit() or int(text) > _MAX_ID:
        raise NotFound("No check-in with this id.")
    checkin = (
        CheckIn.objects.select_related("organization", "recipient", "milestone", "team")
        .filter(pk=int(text), recipient__user_id=user.pk)
        .first()
    )
    if checkin is None:
        raise NotFound("No check-in with this id.")
    return checkin


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


def answers_validate_for_checkin(*, checkin: CheckIn, answers: Any) -> list[_Answered]:
    """``answers`` (``{instrument_key: {question_key: value}}``) checked against every instrument
    version the check-in asks, plus the rules of its kind (a note for an at-risk or blocked
    milestone, what changed for a topology that needs changes).

    Raises ApplicationError (400) listing every problem under ``extra.fields`` as
    ``"<instrument>.<question>"`` (or ``"<instrument>"``, or ``"answers"``)."""
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
        errors.update(_kind_rule_errors(checkin=checkin, answered=answered))
    if errors:
        count = len(errors)
        first, problems = next(iter(errors.items()))
        raise _answer_errors(
            f"{count} answer{'s are' if count != 1 else ' is'} invalid: {first}: {problems[0]}",
            errors,
        )
    return answered


def _kind_rule_errors(*, checkin: CheckIn, answered: Sequence[_Answered]) -> dict[str, list[str]]:
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
        if choice != TOPOLOGY_CONFIRMED and has_corrections and not corrections:
            return {
                f"{item.spec.key}.{TOPOLOGY_CORRECTIONS_QUESTION}": [
                    "say what has changed: corrections are required when the record is not right"
                ]
            }
    return {}


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
) -> Response:
    """Store the answers to ``checkin`` and consume its link, in one transaction.

    ``answers`` is ``{instrument_key: {question_key: value}}``. Raises, storing nothing:
    CheckinAlreadyAnswered / CheckinLinkExpired (410) when the check-in is answered or expired
    (also when a concurrent answer won), ApplicationError (400) listing every invalid answer by
    ``"<instrument>.<question>"``, ConflictError (409) when the milestone workflow refuses the
    reported status (the link stays usable). ``user`` is the milestone event's actor (default: the
    recipient's login, if any); it is never stored for surveys. For a milestone status check-in,
    ``checkin.milestone`` is the updated milestone on return.
    """
    checkin_open_check(checkin=checkin, at=at)
    answered = answers_validate_for_checkin(checkin=checkin, answers=answers)
    scores: dict[str, float] = {}
    for item in answered:
        scores.update(score_response(item.spec, item.answers))
    stored_answers = {item.spec.key: dict(item.answers.values) for item in answered}
    instruments = [[item.spec.key, item.spec.version] for item in answered]
    day = at.date()

    with transaction.atomic():
        consumed = CheckIn.objects.filter(
            pk=checkin.pk, answered_at__isnull=True, expires_at__gt=at
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
            _team_verification_store(checkin=checkin, answered=answered, at=at)
        else:
            message = f"Check-ins of kind '{checkin.kind}' cannot be answered."
            raise ApplicationError(message, extra={"fields": {"kind": [message]}})
        response.save()
    checkin.answered_at = at
    return response


def _raise_not_open(*, checkin: CheckIn, at: dt.datetime) -> None:
    current = CheckIn.objects.filter(pk=checkin.pk).values("answered_at", "expires_at").first()
    if current is None:
        raise CheckinLinkInvalid()
    if current["answered_at"] is not None:
        raise CheckinAlreadyAnswered()
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
    *, checkin: CheckIn, answered: Sequence[_Answered], at: dt.datetime
) -> None:
    if checkin.team_id is None:
        message = "This topology check-in names no team."
        raise ApplicationError(message, extra={"fields": {"team": [message]}})
    item = _topology_answers(answered)
    assert item is not None  # answers_validate_for_checkin refused it otherwise
    TeamVerification.objects.create(
        team_id=checkin.team_id,
        verified_by=checkin.recipient,
        verified_at=at,
        confirmed=item.answers.values.get(TOPOLOGY_QUESTION) == TOPOLOGY_CONFIRMED,
        corrections=str(item.answers.values.get(TOPOLOGY_CORRECTIONS_QUESTION, "")),
    )


# --- settings ------------------------------------------------------------------------------------

SETTINGS_FIELDS: tuple[str, ...] = (
    "channel",
    "webhook_url",
    "survey_every_days",
    "pulse_instruments",
    "event_surveys",
    "topology_verify_every_days",
    "link_valid_days",
    "reminder_after_days",
    "max_reminders",
    "escalate_blocked_after_days",
    "readiness_drop_alert",
    "digest_weekday",
    "min_group_size",
    "min_free_text_group_size",
)


@transaction.atomic
def checkin_settings_update(
    *, organization: Organization, changes: Mapping[str, Any]
) -> CheckinSettings:
    """Apply ``changes`` (field -> value, types already checked) to the organisation's check-in
    settings, creating the row on first use, and check the rules that span fields or need the
    database: min_group_size >= 3, min_free_text_group_size >= min_group_size, a webhook_url
    when the channel is webhook, pulse_instruments and event_surveys naming existing survey
    instruments and known event kinds. Raises ApplicationError (400) with every problem under
    ``extra.fields``; nothing is stored then."""
    row, _created = CheckinSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    errors: dict[str, list[str]] = {name: ["unknown setting"] for name in unknown}
    for name, value in changes.items():
        if name in SETTINGS_FIELDS:
            setattr(row, name, value)
    if row.min_group_size < 3:
        errors.setdefault("min_group_size", []).append(
            "must be at least 3: smaller groups would expose individual answers"
        )
    if row.min_free_text_group_size < row.min_group_size:
        errors.setdefault("min_free_text_group_size", []).append(
            f"must be at least min_group_size ({row.min_group_size})"
        )
    if row.channel == "webhook" and not row.webhook_url:
        errors.setdefault("webhook_url", []).append("required when the channel is webhook")
    errors.update(_instrument_setting_errors(organization=organization, row=row))
    if errors:
        first, problems = next(iter(errors.items()))
        raise ApplicationError(
            f"The check-in settings are not valid: {first}: {problems[0]}",
            extra={"fields": errors},
        )
    try:
        row.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError(
            "The check-in settings are not valid.", extra={"fields": exc.message_dict}
        ) from exc
    row.save()
    return row


def _survey_instrument_problem(*, organization: Organization, key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return f"expected an instrument key; got {type(key).__name__}"
    try:
        spec = instrument_get(organization=organization, key=key)
    except ApplicationError:
        return f"unknown instrument '{key}'"
    if spec.kind != "survey":
        return f"instrument '{key}' is a {spec.kind} instrument, not a survey"
    return None


def _instrument_setting_errors(
    *, organization: Organization, row: CheckinSettings
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    pulse = row.pulse_instruments
    if not isinstance(pulse, list) or not pulse:
        errors["pulse_instruments"] = ["expected a non-empty list of instrument keys"]
    else:
        problems = [
            problem
            for key in pulse
            if (problem := _survey_instrument_problem(organization=organization, key=key))
        ]
        if len(set(map(str, pulse))) != len(pulse):
            problems.append("each instrument may be listed once")
        if problems:
            errors["pulse_instruments"] = problems
    surveys = row.event_surveys
    if not isinstance(surveys, list):
        errors["event_surveys"] = ['expected a list of {"event": KIND, "instrument": KEY} objects']
        return errors
    events = list(SignalEventKind.values)
    for index, entry in enumerate(surveys):
        where = f"event_surveys[{index}]"
        if not isinstance(entry, Mapping) or set(entry) != {"event", "instrument"}:
            errors[where] = ['expected an object with exactly "event" and "instrument"']
            continue
        if entry["event"] not in events:
            errors[f"{where}.event"] = [
                f"unknown event {entry['event']!r}; expected one of {', '.join(events)}"
            ]
        problem = _survey_instrument_problem(organization=organization, key=entry["instrument"])
        if problem:
            errors[f"{where}.instrument"] = [problem]
    return errors
