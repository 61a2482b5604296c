"""factory_boy factories for the organisation graph."""

import factory
from django.contrib.auth import get_user_model

from teams import models


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
