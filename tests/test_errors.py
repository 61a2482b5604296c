"""The API's one error shape, including for values the database cannot hold."""

from typing import Any

import pytest
from django.db import DataError

from core.api import api_exception_handler
from core.errors import ApplicationError, ConflictError


@pytest.mark.parametrize("exc", [DataError("numeric field overflow"), OverflowError("too large")])
def test_a_value_the_database_cannot_hold_is_a_400_not_a_500(exc):
    response = api_exception_handler(exc, {})

    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "message": "A value in the request is out of the range the database can store.",
        "extra": {},
    }


def test_application_errors_keep_their_status_and_extra():
    response = api_exception_handler(ConflictError("taken", extra={"fields": {"slug": ["x"]}}), {})

    assert response is not None
    assert (response.status_code, response.data) == (
        409,
        {"message": "taken", "extra": {"fields": {"slug": ["x"]}}},
    )
    plain = api_exception_handler(ApplicationError("bad"), {})
    assert plain is not None
    assert plain.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orgs/acme/teams/",
        "/api/v1/orgs/acme/transformations/",
        "/api/v1/orgs/acme/signal-events/",
        "/api/v1/orgs/acme/playbooks/",
    ],
)
def test_json_nested_too_deeply_is_a_400_on_every_api(path, organization):
    from rest_framework.test import APIClient

    from teams.models import OrganizationRole, Role
    from tests.factories import UserFactory

    user: Any = UserFactory()
    OrganizationRole.objects.create(organization=organization, user=user, role=Role.ADMIN)
    client = APIClient()
    client.force_authenticate(user)
    body = "[" * 100_000 + "]" * 100_000

    response = client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["message"]
