"""Instruments as data: the file format, the built-in library, answer validation and scoring."""

from __future__ import annotations

import math

import pytest

from core.files.origin import Origin
from playbooks.criteria import SIGNAL_KINDS
from transform.instruments.format import (
    ADKAR_NO_BARRIER,
    QUESTION_SIGNALS,
    ChoiceQuestion,
    FreeTextQuestion,
    InstrumentError,
    ScaleQuestion,
    builtin_instruments,
    instrument_parse,
)
from transform.instruments.scoring import (
    AnswerError,
    ValidatedAnswers,
    adkar_barrier,
    adkar_barrier_value,
    aggregate,
    answers_validate,
    score_response,
)

HEADER = "key: pulse\nversion: 2\ntitle: Pulse\nkind: survey\nquestions:\n"

CUSTOM = """\
key: pulse
version: 2
title: Weekly pulse
kind: survey
description: A short weekly pulse.
questions:
  - key: mood
    text: How was your week?
    type: scale
    min: 0
    max: 10
    labels:
      0: Awful
      10: Great
    signal: platform_satisfaction
  - key: team
    text: Which part of the org are you in?
    type: choice
    required: false
    options:
      - value: product
        label: Product
      - value: platform
        label: Platform
  - key: comment
    text: Anything else?
    type: free_text
    max_length: 50
"""

WESTRUM_KEYS = (
    "information_sought",
    "messengers_not_punished",
    "responsibilities_shared",
    "collaboration_rewarded",
    "failure_causes_inquiry",
    "new_ideas_welcomed",
)
ADKAR_KEYS = ("awareness", "desire", "knowledge", "ability", "reinforcement")


def parse_error(text: str) -> InstrumentError:
    with pytest.raises(InstrumentError) as info:
        instrument_parse("pulse.yaml", text)
    return info.value


def origin(error: InstrumentError) -> Origin:
    assert isinstance(error.origin, Origin)
    return error.origin


def answer_errors(instrument_key: str, answers: dict[str, object]) -> dict[str, str]:
    with pytest.raises(AnswerError) as info:
        answers_validate(builtin_instruments()[instrument_key], answers)
    return info.value.errors


def adkar(awareness: float, desire: float, knowledge: float, ability: float, reinforcement: float):
    return {
        "adkar_awareness": awareness,
        "adkar_desire": desire,
        "adkar_knowledge": knowledge,
        "adkar_ability": ability,
        "adkar_reinforcement": reinforcement,
    }


# --- parsing -----------------------------------------------------------------------------------


def test_it_parses_an_instrument_with_every_question_type():
    spec = instrument_parse("pulse.yaml", CUSTOM)

    assert (spec.key, spec.version, spec.kind) == ("pulse", 2, "survey")
    mood, team, comment = spec.questions
    assert isinstance(mood, ScaleQuestion)
    assert (mood.min, mood.max, mood.required, mood.signal) == (
        0,
        10,
        True,
        "platform_satisfaction",
    )
    assert mood.label_map() == {0: "Awful", 10: "Great"}
    assert isinstance(team, ChoiceQuestion)
    assert team.values() == ["product", "platform"]
    assert team.required is False
    assert isinstance(comment, FreeTextQuestion)
    assert (comment.max_length, comment.required) == (50, False)
    assert spec.signals() == ["platform_satisfaction"]


@pytest.mark.parametrize(
    ("text", "line", "field", "expected"),
    [
        (
            HEADER + "  - key: a\n    text: A?\n    type: scale\n    min: 1\n    max: 5\n"
            "    colour: red\n",
            11,
            "questions[0].colour",
            "unknown field; expected one of key, text, type, required, min, max, labels, signal",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: slider\n",
            6,
            "questions[0]",
            "expected a question with type scale, choice or free_text",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: scale\n    min: 5\n    max: 5\n",
            10,
            "questions[0].max",
            "expected a number greater than min (5); got 5",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: scale\n    min: 1\n    max: 5\n"
            "    labels:\n      9: Nine\n",
            11,
            "questions[0].labels.9",
            "not a point of the scale; expected whole numbers from 1 to 5",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: scale\n    min: 1\n    max: 5\n"
            "    signal: deployment_frequency\n",
            11,
            "questions[0].signal",
            "unknown signal 'deployment_frequency'",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: choice\n"
            "    options: [{value: a, label: A}, {value: b, label: B}]\n"
            "    signal: westrum_score\n",
            10,
            "questions[0].signal",
            "unknown field; expected one of key, text, type, required, options",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: choice\n    options:\n"
            "      - {value: a, label: A}\n      - {value: a, label: B}\n",
            11,
            "questions[0].options[1].value",
            "option value 'a' is listed twice",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: free_text\n"
            "  - key: a\n    text: B?\n    type: free_text\n",
            9,
            "questions[1].key",
            "question key 'a' is already used by questions[0]",
        ),
        (
            HEADER + "  - key: a\n    text: A?\n    type: free_text\n    max_length: 0\n",
            9,
            "questions[0].max_length",
            "expected a number of at least 1; got 0",
        ),
        (
            "key: pulse\nversion: '1'\ntitle: T\nkind: survey\nquestions:\n"
            "  - key: a\n    text: A?\n    type: free_text\n",
            2,
            "version",
            "expected a whole number; got '1'",
        ),
        (
            "key: pulse\nversion: 1\ntitle: T\nkind: poll\nquestions:\n"
            "  - key: a\n    text: A?\n    type: free_text\n",
            4,
            "kind",
            "expected one of milestone_status, survey; got 'poll'",
        ),
        (
            "key: pulse\nversion: 1\ntitle: T\nkind: survey\nquestions: []\n",
            5,
            "questions",
            "expected at least 1 item(s)",
        ),
    ],
)
def test_it_rejects_an_invalid_instrument_naming_the_line_and_field(text, line, field, expected):
    error = parse_error(text)

    assert error.field == field
    assert origin(error).line == line
    assert expected in str(error)
    assert str(error).startswith(f"pulse.yaml, document 1, line {line}: {field}: ")


def test_it_reports_every_problem_of_a_file_not_only_the_first():
    error = parse_error(
        HEADER + "  - key: a\n    text: A?\n    type: scale\n    min: 3\n    max: 1\n"
        "  - key: a\n    text: B?\n    type: free_text\n"
    )

    assert [field for _, field, _ in error.problems] == ["questions[0].max", "questions[1].key"]


def test_it_rejects_duplicate_yaml_keys_with_their_line():
    error = parse_error("key: pulse\nversion: 1\nkey: other\n")

    assert origin(error).line == 3
    assert "duplicate key" in str(error)


def test_it_rejects_an_empty_file_and_a_file_with_two_instruments():
    assert "the file is empty" in str(parse_error(""))
    error = parse_error(CUSTOM + "---\n" + CUSTOM)
    assert origin(error).document == 2
    assert "expected one instrument per file; found 2 documents" in str(error)


def test_it_requires_a_status_question_on_a_milestone_status_instrument():
    error = parse_error(
        "key: m\nversion: 1\ntitle: M\nkind: milestone_status\nquestions:\n"
        "  - key: note\n    text: Note?\n    type: free_text\n"
    )

    assert error.field == "questions"
    assert "needs a question with key 'status'" in str(error)


def test_it_requires_the_three_milestone_statuses_as_the_status_options():
    error = parse_error(
        "key: m\nversion: 1\ntitle: M\nkind: milestone_status\nquestions:\n"
        "  - key: status\n    text: Status?\n    type: choice\n    options:\n"
        "      - {value: on_track, label: On track}\n      - {value: done, label: Done}\n"
    )

    assert error.field == "questions[0].options"
    assert origin(error).line == 9
    assert "status options must be exactly on_track, at_risk, blocked; got on_track, done" in str(
        error
    )


def test_question_signals_belong_to_the_closed_signal_vocabulary():
    assert set(QUESTION_SIGNALS) <= set(SIGNAL_KINDS)
    assert "adkar_barrier" not in QUESTION_SIGNALS


# --- the built-in library ----------------------------------------------------------------------


def test_the_library_holds_the_five_builtin_instruments():
    assert sorted(builtin_instruments()) == [
        "adkar",
        "milestone-status",
        "platform-satisfaction",
        "topology-verification",
        "westrum",
    ]
    assert builtin_instruments() is builtin_instruments()


def test_the_westrum_instrument_asks_the_six_dora_statements_on_a_7_point_agreement_scale():
    westrum = builtin_instruments()["westrum"]

    assert westrum.kind == "survey"
    assert tuple(q.key for q in westrum.questions) == WESTRUM_KEYS
    for question in westrum.questions:
        assert isinstance(question, ScaleQuestion)
        assert (question.min, question.max, question.signal) == (1, 7, "westrum_score")
        assert question.text.startswith("On my team, ")
        labels = question.label_map()
        assert (labels[1], labels[4], labels[7]) == (
            "Strongly disagree",
            "Neither agree nor disagree",
            "Strongly agree",
        )


def test_the_adkar_instrument_asks_the_five_elements_in_order_on_1_to_5():
    adkar_spec = builtin_instruments()["adkar"]

    assert tuple(q.key for q in adkar_spec.questions) == ADKAR_KEYS
    for question in adkar_spec.questions:
        assert isinstance(question, ScaleQuestion)
        assert (question.min, question.max) == (1, 5)
        assert question.signal == f"adkar_{question.key}"


def test_the_platform_satisfaction_instrument_asks_a_score_and_what_slows_people_down():
    satisfaction, slows = builtin_instruments()["platform-satisfaction"].questions

    assert isinstance(satisfaction, ScaleQuestion)
    assert (satisfaction.min, satisfaction.max) == (1, 5)
    assert satisfaction.signal == "platform_satisfaction"
    assert isinstance(slows, FreeTextQuestion)
    assert slows.text == "What slows you down?"
    assert slows.required is False


def test_the_milestone_status_instrument_asks_status_confidence_and_a_note():
    spec = builtin_instruments()["milestone-status"]
    status, confidence, note = spec.questions

    assert spec.kind == "milestone_status"
    assert isinstance(status, ChoiceQuestion)
    assert status.values() == ["on_track", "at_risk", "blocked"]
    assert isinstance(confidence, ScaleQuestion)
    assert (confidence.min, confidence.max, confidence.signal) == (1, 5, "checkin_confidence")
    assert isinstance(note, FreeTextQuestion)
    assert note.required is False


# --- answer validation -------------------------------------------------------------------------


def test_it_accepts_valid_answers_and_normalises_them():
    validated = answers_validate(
        builtin_instruments()["milestone-status"],
        {"status": "at_risk", "confidence": " 4 ", "note": "  waiting on the network team  "},
    )

    assert validated == ValidatedAnswers(
        instrument="milestone-status",
        version=1,
        values={"status": "at_risk", "confidence": 4, "note": "waiting on the network team"},
    )


def test_it_leaves_unanswered_optional_questions_out():
    validated = answers_validate(
        builtin_instruments()["platform-satisfaction"], {"satisfaction": 2, "slows_you_down": ""}
    )

    assert validated.values == {"satisfaction": 2}


def test_it_rejects_an_unknown_question():
    errors = answer_errors("platform-satisfaction", {"satisfaction": 4, "mood": 3})

    assert errors == {"mood": "unknown question; expected one of satisfaction, slows_you_down"}


def test_it_rejects_a_missing_required_answer_whether_absent_null_or_blank():
    errors = answer_errors("milestone-status", {"status": None, "confidence": "  "})

    assert errors == {"status": "an answer is required", "confidence": "an answer is required"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "out of range: expected a whole number from 1 to 5; got 0"),
        (6, "out of range: expected a whole number from 1 to 5; got 6"),
        ("9", "out of range: expected a whole number from 1 to 5; got 9"),
    ],
)
def test_it_rejects_a_scale_answer_out_of_range(value, expected):
    errors = answer_errors("platform-satisfaction", {"satisfaction": value})

    assert errors == {"satisfaction": expected}


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "True"), (3.5, "3.5"), ("four", "'four'"), ([3], "list")],
)
def test_it_rejects_a_scale_answer_that_is_not_a_whole_number(value, shown):
    errors = answer_errors("platform-satisfaction", {"satisfaction": value})

    assert errors == {"satisfaction": f"expected a whole number from 1 to 5; got {shown}"}


def test_it_rejects_a_choice_that_is_not_an_option_or_not_a_text():
    assert answer_errors("milestone-status", {"status": "done", "confidence": 3}) == {
        "status": "unknown option 'done'; expected one of on_track, at_risk, blocked"
    }
    assert answer_errors("milestone-status", {"status": 2, "confidence": 3}) == {
        "status": "expected one of on_track, at_risk, blocked; got 2"
    }


def test_it_rejects_free_text_that_is_too_long_or_not_a_text():
    too_long = {"status": "on_track", "confidence": 3, "note": "x" * 2001}
    assert answer_errors("milestone-status", too_long) == {
        "note": "too long: at most 2000 characters; got 2001"
    }
    not_text = {"status": "on_track", "confidence": 3, "note": 42}
    assert answer_errors("milestone-status", not_text) == {"note": "expected a text; got 42"}


def test_free_text_at_exactly_its_limit_is_accepted():
    answers = {"status": "on_track", "confidence": 3, "note": "x" * 2000}

    validated = answers_validate(builtin_instruments()["milestone-status"], answers)

    assert len(str(validated.values["note"])) == 2000


def test_an_answer_error_lists_every_problem_and_says_how_many():
    with pytest.raises(AnswerError) as info:
        answers_validate(builtin_instruments()["milestone-status"], {"status": "x", "extra": 1})

    assert set(info.value.errors) == {"status", "confidence", "extra"}
    assert info.value.message == "3 answers are invalid for instrument milestone-status."


# --- scoring -----------------------------------------------------------------------------------


def test_the_westrum_score_is_the_mean_of_the_six_statements():
    answers = dict(zip(WESTRUM_KEYS, (7, 6, 5, 4, 3, 2), strict=True))

    assert score_response(builtin_instruments()["westrum"], answers) == {"westrum_score": 4.5}


def test_each_adkar_element_is_scored_by_its_own_item():
    answers = dict(zip(ADKAR_KEYS, (5, 4, 3, 2, 1), strict=True))

    assert score_response(builtin_instruments()["adkar"], answers) == adkar(5, 4, 3, 2, 1)


def test_platform_satisfaction_is_scored_and_the_free_text_is_not():
    scores = score_response(
        builtin_instruments()["platform-satisfaction"],
        {"satisfaction": 2, "slows_you_down": "Waiting for database access."},
    )

    assert scores == {"platform_satisfaction": 2.0}


def test_a_status_checkin_scores_its_confidence():
    scores = score_response(
        builtin_instruments()["milestone-status"], {"status": "blocked", "confidence": 1}
    )

    assert scores == {"checkin_confidence": 1.0}


def test_scoring_validates_raw_answers_first():
    with pytest.raises(AnswerError):
        score_response(builtin_instruments()["milestone-status"], {"status": "blocked"})


def test_scoring_refuses_answers_validated_for_another_instrument():
    validated = answers_validate(
        builtin_instruments()["platform-satisfaction"], {"satisfaction": 4}
    )

    with pytest.raises(ValueError, match="platform-satisfaction v1 cannot be scored with adkar v1"):
        score_response(builtin_instruments()["adkar"], validated)


def test_an_optional_scored_question_left_unanswered_gives_no_signal():
    spec = instrument_parse(
        "pulse.yaml", CUSTOM.replace("    signal:", "    required: false\n    signal:")
    )

    assert score_response(spec, {"comment": "ok"}) == {}
    assert score_response(spec, {"mood": 10}) == {"platform_satisfaction": 10.0}


# --- the ADKAR barrier -------------------------------------------------------------------------


def test_there_is_no_barrier_when_every_element_is_above_3():
    scores = adkar(3.2, 4, 5, 3.01, 4.5)

    assert adkar_barrier(scores) is None
    assert adkar_barrier_value(scores) == ADKAR_NO_BARRIER


def test_the_barrier_is_the_first_of_several_elements_scored_3_or_lower():
    scores = adkar(4, 4, 2, 1, 3)

    assert adkar_barrier(scores) == "knowledge"
    assert adkar_barrier_value(scores) == 3.0


def test_a_score_of_exactly_3_is_a_barrier():
    assert adkar_barrier(adkar(4, 3, 5, 5, 5)) == "desire"
    assert adkar_barrier(adkar(3, 1, 1, 1, 1)) == "awareness"


def test_a_low_later_element_is_not_the_barrier_while_an_earlier_one_has_no_score():
    scores = adkar(4, 4, 4, 2, 4)
    del scores["adkar_desire"]

    assert adkar_barrier(scores) is None
    assert adkar_barrier_value(scores) is None


def test_a_barrier_needs_only_the_elements_up_to_it():
    scores = {"adkar_awareness": 4.0, "adkar_desire": 2.5}

    assert adkar_barrier(scores) == "desire"
    assert adkar_barrier_value(scores) == 2.0


# --- aggregation -------------------------------------------------------------------------------


def test_aggregation_averages_each_signal_over_the_responses_that_have_it():
    readings = aggregate(
        [
            {"westrum_score": 6.0, "platform_satisfaction": 2.0},
            {"westrum_score": 4.0},
            {"westrum_score": 5.0, "platform_satisfaction": 4.0},
        ]
    )

    assert readings["westrum_score"].value == 5.0
    assert readings["westrum_score"].respondents == 3
    assert readings["platform_satisfaction"].value == 3.0
    assert readings["platform_satisfaction"].respondents == 2
    assert "adkar_barrier" not in readings


def test_aggregation_of_no_responses_is_empty():
    assert aggregate([]) == {}


def test_aggregation_skips_values_that_are_not_numbers():
    readings = aggregate([{"westrum_score": math.nan}, {"westrum_score": 3.0}])

    assert readings["westrum_score"].value == 3.0
    assert readings["westrum_score"].respondents == 1


def test_the_group_barrier_is_computed_on_the_group_means():
    # Each person alone has a barrier (awareness for one, desire for the other), but the group's
    # means are all above 3: the group has none.
    readings = aggregate([adkar(2, 5, 5, 5, 5), adkar(5, 2, 5, 5, 5)])

    assert readings["adkar_awareness"].value == 3.5
    assert readings["adkar_desire"].value == 3.5
    assert readings["adkar_barrier"].value == ADKAR_NO_BARRIER
    assert readings["adkar_barrier"].respondents == 2


def test_the_group_barrier_names_the_first_low_group_mean():
    readings = aggregate([adkar(5, 4, 3, 1, 1), adkar(5, 4, 2, 5, 5), adkar(5, 4, 4, 5, 5)])

    assert readings["adkar_knowledge"].value == 3.0
    assert readings["adkar_barrier"].value == 3.0
    assert readings["adkar_barrier"].respondents == 3


def test_a_group_low_on_awareness_that_skipped_the_later_elements_has_that_barrier():
    # Awareness alone decides: the later elements were skipped by everyone.
    readings = aggregate([{"adkar_awareness": 2.0}, {"adkar_awareness": 3.0}])

    assert readings["adkar_barrier"].value == 1.0
    assert readings["adkar_barrier"].respondents == 2
