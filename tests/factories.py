"""factory_boy factories for the organisation graph and the transform app's rows."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from teams import models
from transform import models as transform_models
from transform.rhythm.links import link_nonce_new


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda org: org.slug.title())


class OrganizationRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.OrganizationRole

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = models.Role.MEMBER


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.OrgUnit

    organization = factory.SubFactory(OrganizationFactory)
    slug = factory.Sequence(lambda n: f"unit-{n}")
    name = factory.LazyAttribute(lambda unit: unit.slug.title())


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Team

    organization = factory.SubFactory(OrganizationFactory)
    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda team: team.slug.title())
    type = models.TeamType.STREAM_ALIGNED


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership

    team = factory.SubFactory(TeamFactory)
    organization = factory.SelfAttribute("team.organization")
    person = factory.SubFactory(PersonFactory, organization=factory.SelfAttribute("..organization"))
    role = models.MembershipRole.MEMBER


class ServesLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ServesLink

    team = factory.SubFactory(TeamFactory)
    organization = factory.SelfAttribute("team.organization")
    person = factory.SubFactory(PersonFactory, organization=factory.SelfAttribute("..organization"))


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Interaction

    source = factory.SubFactory(TeamFactory)
    organization = factory.SelfAttribute("source.organization")
    target = factory.SubFactory(TeamFactory, organization=factory.SelfAttribute("..organization"))
    mode = models.InteractionMode.X_AS_A_SERVICE


# --- transform ------------------------------------------------------------------------------------
# These fill only the fields the model requires and has no default for: a field a test does not
# pass keeps the model's default (nullable links stay empty, JSON fields empty), so a call with the
# fields a test cares about builds the same row as ``Model.objects.create`` with those fields.

# The first day of the default survey cadence (14 days from Monday 2024-01-01).
_PERIOD_ANCHOR = dt.date(2024, 1, 1)


class CheckinSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = transform_models.CheckinSettings

    organization = factory.SubFactory(OrganizationFactory)


class InstrumentFactory(factory.django.DjangoModelFactory):
    """An organisation's own instrument version (pass ``organization=None`` for a built-in)."""

    class Meta:
        model = transform_models.Instrument

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"instrument-{n}")
    version = 1
    title = factory.LazyAttribute(lambda instrument: instrument.key.replace("-", " ").title())
    kind = "survey"
    source = factory.LazyAttribute(
        lambda instrument: (
            f"key: {instrument.key}\n"
            f"version: {instrument.version}\n"
            f"title: {instrument.title}\n"
            f"kind: {instrument.kind}\n"
            "questions:\n"
            "  - key: mood\n"
            "    text: How is the mood?\n"
            "    type: scale\n"
            "    min: 1\n"
            "    max: 5\n"
        )
    )


class CheckInFactory(factory.django.DjangoModelFactory):
    """An open pulse survey check-in for a new person of the organisation, created now and
    valid for seven days; ``subject`` and ``period`` are unique by default, and it lists no
    ``instruments`` unless given."""

    class Meta:
        model = transform_models.CheckIn

    organization = factory.SubFactory(OrganizationFactory)
    kind = transform_models.CheckInKind.PULSE_SURVEY
    recipient = factory.SubFactory(
        PersonFactory, organization=factory.SelfAttribute("..organization")
    )
    subject = factory.Sequence(lambda n: f"test:{n}")
    period = factory.Sequence(lambda n: f"p{n}")
    period_start = factory.LazyAttribute(lambda checkin: checkin.created_at.date())
    link_nonce = factory.LazyFunction(link_nonce_new)
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda checkin: checkin.created_at + dt.timedelta(days=7))


class TeamVerificationFactory(factory.django.DjangoModelFactory):
    """A confirmation of ``team``'s topology by a person of its organisation, now."""

    class Meta:
        model = transform_models.TeamVerification

    team = factory.SubFactory(TeamFactory)
    verified_by = factory.SubFactory(
        PersonFactory, organization=factory.SelfAttribute("..team.organization")
    )
    verified_at = factory.LazyFunction(timezone.now)
    confirmed = True


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A pending e-mail escalation to a new person of the organisation, due now."""

    class Meta:
        model = transform_models.Delivery

    organization = factory.SubFactory(OrganizationFactory)
    kind = transform_models.DeliveryKind.ESCALATION
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    recipient = factory.SubFactory(
        PersonFactory, organization=factory.SelfAttribute("..organization")
    )
    channel = transform_models.Channel.EMAIL
    created_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.SelfAttribute("created_at")


class ResponseFactory(factory.django.DjangoModelFactory):
    """An anonymous survey response (no check-in, no team) submitted today; a non-survey kind
    takes its ``checkin``."""

    class Meta:
        model = transform_models.Response

    organization = factory.SubFactory(OrganizationFactory)
    kind = transform_models.ResponseKind.SURVEY
    period_start = factory.LazyFunction(timezone.localdate)
    submitted_on = factory.SelfAttribute("period_start")


class SignalEventFactory(factory.django.DjangoModelFactory):
    """An ingested deploy of the organisation (no team, no data), now."""

    class Meta:
        model = transform_models.SignalEvent

    organization = factory.SubFactory(OrganizationFactory)
    kind = transform_models.SignalEventKind.DEPLOY
    external_id = factory.Sequence(lambda n: f"event-{n}")
    occurred_at = factory.LazyFunction(timezone.now)


class ReadinessSnapshotFactory(factory.django.DjangoModelFactory):
    """The organisation's stored readiness (no team, no score) for a 14-day period of its own,
    computed now."""

    class Meta:
        model = transform_models.ReadinessSnapshot

    organization = factory.SubFactory(OrganizationFactory)
    period_start = factory.Sequence(lambda n: _PERIOD_ANCHOR + dt.timedelta(days=14 * n))
    period_end = factory.LazyAttribute(
        lambda snapshot: snapshot.period_start + dt.timedelta(days=14)
    )
    computed_at = factory.LazyFunction(timezone.now)


class MilestoneEventFactory(factory.django.DjangoModelFactory):
    """A status change of ``milestone`` (required: milestones come from a started
    transformation, ``tests.builders``), at the time it is created."""

    class Meta:
        model = transform_models.MilestoneEvent

    kind = transform_models.EventKind.STATUS
