"""Server-rendered pages: the check-in response form behind a signed link (docs/responses.md).

No login: the signed, single-use link is the credential. GET only shows the questions (mail link
scanners open links before people do, so it must change nothing); POST validates and answers,
consuming the link. CSRF protection stays on: the form carries Django's token like any other.
The page is plain HTML with inline CSS (no JavaScript, no external resources), usable on a phone
and with a screen reader: a fieldset and legend per choice question, real labels, errors next to
their field and summarised at the top.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, ConflictError
from teams.zones import person_zone
from transform.access import CheckinLinkError, checkin_get_by_link
from transform.answers import selectors, services
from transform.answers.throttles import CheckinLinkThrottle
from transform.answers.topology import TopologyCorrections, team_record
from transform.instruments.estimates import answer_minutes
from transform.instruments.format import (
    MILESTONE_STATUS_QUESTION,
    ChoiceQuestion,
    FreeTextQuestion,
    InstrumentSpec,
    ScaleQuestion,
)
from transform.models import ANONYMOUS_CHECKIN_KINDS, CheckIn, CheckInKind, MilestoneStatus
from transform.rhythm.selectors import checkin_settings_get

# A scale wider than this is a number field rather than a row of radio buttons.
MAX_RADIO_POINTS = 11

# A survey (pulse or event) is asked in short steps of at most this many questions, each step
# within one instrument, so that every step fits a phone screen (docs/responses.md).
STEP_MAX_QUESTIONS = 4
# ... and of at most about this many rows (a radio button, or two for a text or number field),
# so that two 7-point questions make a step, not four: a step stays about a phone screen tall.
STEP_MAX_ROWS = 16
# The form fields that carry the steps' state; they have no dot, so they are never answers.
STEP_FIELD = "_step"
STATE_FIELD = "_answers"
ACTION_FIELD = "_action"
# ``?all=1`` shows every question on one page (and the one-page form posts without steps).
ALL_PARAM = "all"


@dataclass(frozen=True)
class Step:
    """One step of a stepped survey: some questions of one instrument, by field name."""

    instrument: str
    names: tuple[str, ...]


def survey_steps(specs: list[InstrumentSpec]) -> list[Step]:
    """The instruments' questions in steps of at most ``STEP_MAX_QUESTIONS`` questions and about
    ``STEP_MAX_ROWS`` rows, one instrument a step, an instrument's questions spread evenly
    (6 questions: 3 and 3, not 4 and 2)."""
    steps: list[Step] = []
    for spec in specs:
        names = [f"{spec.key}.{question.key}" for question in spec.questions]
        if not names:
            continue
        rows = sum(_question_rows(question) for question in spec.questions)
        count = max(math.ceil(len(names) / STEP_MAX_QUESTIONS), math.ceil(rows / STEP_MAX_ROWS))
        count = min(count, len(names))
        size, extra = divmod(len(names), count)
        start = 0
        for index in range(count):
            end = start + size + (1 if index < extra else 0)
            steps.append(Step(instrument=spec.key, names=tuple(names[start:end])))
            start = end
    return steps


def _question_rows(question: Any) -> int:
    """About how many rows a question takes on a phone: one a radio button, two for a field."""
    if isinstance(question, ScaleQuestion):
        points = question.max - question.min + 1
        return points if points <= MAX_RADIO_POINTS else 2
    if isinstance(question, ChoiceQuestion):
        return len(question.options)
    return 2


def _state_salt(checkin: CheckIn) -> str:
    return f"transform.answers.steps:{checkin.pk}"


def _state_dump(checkin: CheckIn, answers: Mapping[str, Mapping[str, Any]]) -> str:
    """The answers of the steps so far, signed for this check-in: kept in the page, never stored
    on the server (only the final answer is, by the same service call as the one-page form)."""
    return signing.dumps(
        {key: dict(values) for key, values in answers.items()}, salt=_state_salt(checkin)
    )


def _state_load(checkin: CheckIn, data: QueryDict) -> dict[str, dict[str, Any]]:
    """The signed answers of earlier steps; nothing when missing or tampered with."""
    try:
        loaded = signing.loads(data.get(STATE_FIELD, ""), salt=_state_salt(checkin))
    except signing.BadSignature:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): dict(v) for k, v in loaded.items() if isinstance(v, dict)}


def _stepped(checkin: CheckIn, steps: list[Step]) -> bool:
    return checkin.kind in ANONYMOUS_CHECKIN_KINDS and len(steps) > 1


FIELD_HINTS: dict[tuple[str, str], str] = {
    (CheckInKind.MILESTONE_STATUS, services.MILESTONE_NOTE_QUESTION): (
        "Needed when the milestone is at risk or blocked."
    ),
    (CheckInKind.TOPOLOGY_VERIFICATION, services.TOPOLOGY_CORRECTIONS_QUESTION): (
        "Needed when something has changed."
    ),
}


@dataclass
class ChoiceView:
    value: str
    label: str
    point: str
    checked: bool
    id: str


@dataclass
class QuestionView:
    """One question as the template shows it: its field name is ``<instrument>.<question>``."""

    name: str
    id: str
    text: str
    type: str  # "radio", "number", "text"
    required: bool
    hint: str = ""
    choices: list[ChoiceView] = field(default_factory=list)
    value: str = ""
    errors: list[str] = field(default_factory=list)
    max_length: int | None = None
    min: int | None = None
    max: int | None = None

    @property
    def described_by(self) -> str:
        """The ids of the hint and the error, for ``aria-describedby``."""
        ids = [f"{self.id}-hint"] if self.hint else []
        return " ".join([*ids, f"{self.id}-error"] if self.errors else ids)


@dataclass
class InstrumentView:
    key: str
    title: str
    description: str
    questions: list[QuestionView]


def form_answers_parse(data: QueryDict) -> dict[str, dict[str, Any]]:
    """The form's fields named ``<instrument>.<question>`` as ``{instrument: {question: value}}``.

    Fields without a dot (the CSRF token) are not answers. A field sent twice becomes a list, which
    validation then refuses as the wrong type instead of silently keeping one of the values."""
    answers: dict[str, dict[str, Any]] = {}
    for name in data:
        instrument, dot, question = name.partition(".")
        if not (dot and instrument and question):
            continue
        values = data.getlist(name)
        answers.setdefault(instrument, {})[question] = values[0] if len(values) == 1 else values
    return answers


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def checkin_respond(request: HttpRequest, token: str) -> HttpResponse:
    """The response form of the check-in the signed ``token`` names.

    GET shows it (200) and changes nothing; POST answers: 200 with a thank-you page, 400 with the
    form again (errors next to each field, the answers kept) when answers are invalid, 409 with
    the form when the milestone workflow refuses the reported status. An invalid or unknown link
    gives a 404 page; an expired, already answered or closed one (its milestone was marked done:
    the page says when and by whom) a 410 page. Too many link requests from
    one address (``CheckinLinkThrottle``, shared with the API) get a 429 page with
    ``Retry-After``, before the link is even looked at."""
    throttle = CheckinLinkThrottle()
    if not throttle.allow_request(request, None):
        return _too_many(request, throttle.wait())
    at = timezone.now()
    try:
        checkin = checkin_get_by_link(token=token, at=at)
    except CheckinLinkError as exc:
        return _gone(request, exc)
    steps = survey_steps(selectors.checkin_instruments(checkin=checkin))
    stepped = _stepped(checkin, steps) and request.GET.get(ALL_PARAM) != "1"
    if request.method != "POST":
        return _form(
            request,
            checkin=checkin,
            at=at,
            corrections=_corrections(checkin, None),
            steps=steps if stepped else None,
        )
    if stepped and STEP_FIELD in request.POST:
        return _step_post(request, checkin=checkin, at=at, steps=steps)
    answers = form_answers_parse(request.POST)
    corrections = _corrections(checkin, request.POST)
    changes: list[dict[str, Any]] = []
    if corrections is not None and not _topology_confirmed(answers):
        found = corrections.changes()
        if found is None:
            error = ApplicationError("Some corrections cannot be proposed: see the marked rows.")
            return _form(
                request,
                checkin=checkin,
                at=at,
                answers=answers,
                error=error,
                corrections=corrections,
            )
        changes = found
    try:
        services.checkin_answer(checkin=checkin, answers=answers, at=at, proposed_changes=changes)
    except CheckinLinkError as exc:
        return _gone(request, exc)
    except ApplicationError as exc:
        return _form(
            request,
            checkin=checkin,
            at=at,
            answers=answers,
            error=exc,
            corrections=corrections,
        )
    return _done(request, checkin)


def _step_post(
    request: HttpRequest, *, checkin: CheckIn, at: dt.datetime, steps: list[Step]
) -> HttpResponse:
    """One step of a stepped survey posted: its answers join the signed ones of the other steps;
    "back" goes to the previous step unchecked, "next" checks this step's questions only, and
    "send" (the last step) answers with everything through the same service call as the one-page
    form, showing the first step with a problem when answers are refused."""
    try:
        index = min(max(int(request.POST.get(STEP_FIELD, "0")), 0), len(steps) - 1)
    except ValueError:
        index = 0
    step = steps[index]
    answers = _state_load(checkin, request.POST)
    posted = form_answers_parse(request.POST)
    for name in step.names:
        instrument, _, question = name.partition(".")
        given = answers.setdefault(instrument, {})
        value = posted.get(instrument, {}).get(question)
        if value is None:
            given.pop(question, None)
        else:
            given[question] = value
    action = request.POST.get(ACTION_FIELD, "next")
    if action == "back":
        return _form(request, checkin=checkin, at=at, answers=answers, steps=steps, step=index - 1)
    if action != "send" or index < len(steps) - 1:
        try:
            services.answers_validate_for_checkin(checkin=checkin, answers=answers)
        except ApplicationError as exc:
            fields = exc.extra.get("fields", {})
            mine = {k: v for k, v in fields.items() if k in step.names}
            if mine:
                error = ApplicationError(exc.message, extra={"fields": mine})
                return _form(
                    request,
                    checkin=checkin,
                    at=at,
                    answers=answers,
                    error=error,
                    steps=steps,
                    step=index,
                )
        return _form(request, checkin=checkin, at=at, answers=answers, steps=steps, step=index + 1)
    try:
        services.checkin_answer(checkin=checkin, answers=answers, at=at)
    except CheckinLinkError as exc:
        return _gone(request, exc)
    except ApplicationError as exc:
        fields = exc.extra.get("fields", {})
        first = next(
            (i for i, s in enumerate(steps) if any(name in fields for name in s.names)), None
        )
        if first is not None and not isinstance(exc, ConflictError):
            # That step's problems, next to their questions; the later steps are checked again
            # as the person moves on.
            shown = {k: v for k, v in fields.items() if k in steps[first].names}
            exc = ApplicationError(exc.message, extra={"fields": shown})
        return _form(
            request,
            checkin=checkin,
            at=at,
            answers=answers,
            error=exc,
            steps=steps,
            step=index if first is None else first,
        )
    return _done(request, checkin)


def _done(request: HttpRequest, checkin: CheckIn) -> HttpResponse:
    return _page(
        request,
        "transform/checkin_done.html",
        {
            "first_name": selectors.recipient_first_name(checkin),
            "checkin": checkin,
            "subject_title": selectors.checkin_subject_title(checkin),
            "anonymous": checkin.kind in ANONYMOUS_CHECKIN_KINDS,
            "milestone_status": _milestone_status_label(checkin),
        },
        status=200,
    )


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int
) -> HttpResponse:
    response = render(request, template, context, status=status)
    # The URL holds the link's token: never send it to another site as a referrer, never index
    # the page. Not "no-referrer": with it, browsers send "Origin: null" on the form's POST and
    # Django's CSRF origin check refuses the answer (a browser test caught this).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _gone(request: HttpRequest, exc: CheckinLinkError) -> HttpResponse:
    titles = {
        "invalid": "This link is not valid",
        "expired": "This link has expired",
        "answered": "Already answered",
        "closed": "This check-in is closed",
    }
    return _page(
        request,
        "transform/checkin_gone.html",
        {"title": titles.get(exc.state, "This link cannot be used"), "message": exc.message},
        status=exc.status_code,
    )


def _too_many(request: HttpRequest, wait: float | None) -> HttpResponse:
    seconds = max(1, math.ceil(wait or 1))
    response = _page(
        request,
        "transform/checkin_gone.html",
        {
            "title": "Too many requests",
            "message": f"Too many check-in links were opened from your address. "
            f"Try again in {seconds} seconds.",
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def _corrections(checkin: CheckIn, data: QueryDict | None) -> TopologyCorrections | None:
    """A topology verification's structured corrections (None for other kinds)."""
    if checkin.kind != CheckInKind.TOPOLOGY_VERIFICATION or checkin.team is None:
        return None
    return TopologyCorrections(team=checkin.team, data=data)


def _topology_confirmed(answers: Mapping[str, Mapping[str, Any]]) -> bool:
    return any(
        isinstance(given, Mapping)
        and given.get(services.TOPOLOGY_QUESTION) == services.TOPOLOGY_CONFIRMED
        for given in answers.values()
    )


def _milestone_status_label(checkin: CheckIn) -> str:
    if checkin.kind != CheckInKind.MILESTONE_STATUS or checkin.milestone is None:
        return ""
    return str(MilestoneStatus(checkin.milestone.status).label)


def _form(
    request: HttpRequest,
    *,
    checkin: CheckIn,
    at: dt.datetime,
    answers: Mapping[str, Mapping[str, Any]] | None = None,
    error: ApplicationError | None = None,
    corrections: TopologyCorrections | None = None,
    steps: list[Step] | None = None,
    step: int = 0,
) -> HttpResponse:
    """The form: every question, or with ``steps`` only those of step ``step`` (0-based), the
    answers of the other steps carried along signed."""
    field_errors: dict[str, list[str]] = {}
    if error is not None:
        fields = error.extra.get("fields", {})
        if isinstance(fields, Mapping):
            field_errors = {str(k): [str(m) for m in v] for k, v in fields.items()}
    offered = selectors.milestone_status_options(checkin)
    instruments = [
        _instrument_view(
            spec, checkin=checkin, answers=answers or {}, errors=field_errors, offered=offered
        )
        for spec in selectors.checkin_instruments(checkin=checkin)
    ]
    question_count = sum(len(view.questions) for view in instruments)
    has_free_text = any(q.type == "text" for view in instruments for q in view.questions)
    step_context: dict[str, Any] = {}
    if steps:
        step = min(max(step, 0), len(steps) - 1)
        names = set(steps[step].names)
        for view in instruments:
            view.questions = [q for q in view.questions if q.name in names]
        instruments = [view for view in instruments if view.questions]
        step_context = {
            "step_number": step + 1,
            "step_count": len(steps),
            "step_index": step,
            "step_state": _state_dump(checkin, answers or {}),
            "step_last": step == len(steps) - 1,
            "step_first": step == 0,
        }
    shown = {question.name for view in instruments for question in view.questions}
    # Errors no question shows (a crafted field, a workflow conflict) go to the summary only.
    general = [
        f"{name}: {message}" if name not in ("non_field_errors", "answers") else message
        for name, messages in field_errors.items()
        if name not in shown
        for message in messages
    ]
    if isinstance(error, ConflictError):
        general.insert(0, error.message)
    summary = [
        (question.id, question.text, message)
        for view in instruments
        for question in view.questions
        for message in question.errors
    ]
    settings = checkin_settings_get(organization=checkin.organization)
    context = {
        "checkin": checkin,
        "kind": checkin.kind,
        "first_name": selectors.recipient_first_name(checkin),
        "subject_title": selectors.checkin_subject_title(checkin),
        "event_label": selectors.checkin_event_label(checkin),
        "organization_name": checkin.organization.name,
        "expires_at": checkin.expires_at,
        # Shown in the recipient's zone, named (docs/time-zones.md): this page is not an org page.
        "time_zone": person_zone(checkin.recipient, organization=checkin.organization).key,
        "anonymous": checkin.kind in ANONYMOUS_CHECKIN_KINDS,
        "min_group_size": settings.min_group_size,
        "min_free_text_group_size": settings.min_free_text_group_size,
        "has_free_text": has_free_text,
        "milestone_status": _milestone_status_label(checkin),
        "instruments": instruments,
        "summary": summary,
        "general_errors": general,
        "has_errors": bool(summary or general),
        "record": team_record(corrections.team) if corrections is not None else None,
        "corrections": corrections,
        "question_count": question_count,
        "minutes": answer_minutes(question_count),
        "stepped": bool(steps),
        **step_context,
    }
    status = error.status_code if error is not None else 200
    return _page(request, "transform/checkin_form.html", context, status=status)


def _instrument_view(
    spec: InstrumentSpec,
    *,
    checkin: CheckIn,
    answers: Mapping[str, Mapping[str, Any]],
    errors: Mapping[str, list[str]],
    offered: tuple[str, ...] | None = None,
) -> InstrumentView:
    """The instrument as the form shows it; ``offered`` (``milestone_status_options``) limits the
    milestone status question to the answers the workflow allows now."""
    given = answers.get(spec.key, {})
    if not isinstance(given, Mapping):
        given = {}
    questions = []
    for question in spec.questions:
        name = f"{spec.key}.{question.key}"
        raw = given.get(question.key)
        value = raw if isinstance(raw, str) else ""
        view = QuestionView(
            name=name,
            id=f"q-{spec.key}-{question.key}",
            text=question.text,
            type="text",
            required=question.required,
            hint=FIELD_HINTS.get((checkin.kind, question.key), ""),
            value=value,
            errors=list(errors.get(name, [])),
        )
        if isinstance(question, ScaleQuestion):
            labels = question.label_map()
            if question.max - question.min + 1 > MAX_RADIO_POINTS:
                view.type, view.min, view.max = "number", question.min, question.max
                if not view.hint:
                    view.hint = f"A whole number from {question.min} to {question.max}."
            else:
                view.type = "radio"
                view.choices = [
                    ChoiceView(
                        value=str(point),
                        label=labels.get(point, ""),
                        point=str(point),
                        checked=value.strip() == str(point),
                        id=f"{view.id}-{point}",
                    )
                    for point in range(question.min, question.max + 1)
                ]
        elif isinstance(question, ChoiceQuestion):
            view.type = "radio"
            limited = offered is not None and question.key == MILESTONE_STATUS_QUESTION
            view.choices = [
                ChoiceView(
                    value=option.value,
                    label=option.label,
                    point="",
                    checked=value == option.value,
                    id=f"{view.id}-{option.value}",
                )
                for option in question.options
                if not limited or option.value in (offered or ())
            ]
        elif isinstance(question, FreeTextQuestion):
            view.max_length = question.max_length
        questions.append(view)
    return InstrumentView(
        key=spec.key, title=spec.title, description=spec.description or "", questions=questions
    )
