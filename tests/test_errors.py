"""The API's one error shape, including for values the database cannot hold."""

import pytest
from django.db import DataError

from transform.errors import ApplicationError, ConflictError, api_exception_handler


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
