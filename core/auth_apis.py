"""``/api/v1/auth/token/`` (docs/api.md#authentication): POST a username and password for an API
token, DELETE to revoke the caller's own. Apart from ``core.auth`` because DRF's settings import
that module, and it must not import DRF's views."""

from __future__ import annotations

from django.contrib.auth import user_logged_in
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import (
    LoginLockedOut,
    lockout_seconds_left,
    token_expires_at,
    token_issue,
    token_revoke,
)

TOKEN_OUTPUT = inline_serializer(
    "AuthTokenOutput",
    fields={
        "token": serializers.CharField(help_text="Send it as `Authorization: Token <token>`."),
        "expires_at": serializers.DateTimeField(
            help_text="After this moment the token is refused; ask for a new one."
        ),
    },
)


class AuthTokenApi(APIView):
    """``/api/v1/auth/token/``: POST a username and password for a token, DELETE to revoke the
    token of whoever is calling. Failed logins count towards the lockout like the login page's."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="v1_auth_token_create",
        summary="Get an API token",
        description=(
            "A token for a username and password; the same token until it expires or is "
            "revoked. Repeated failures lock the username from this address (429)."
        ),
        request=AuthTokenSerializer,
        responses={200: TOKEN_OUTPUT},
        tags=["auth"],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # axes flags the request object it was given (this DRF request) when it locks.
            if getattr(request, "axes_locked_out", False):
                credentials = {"username": serializer.initial_data.get("username")}
                raise LoginLockedOut(lockout_seconds_left(request, credentials))
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        # A token is a login: axes resets the failure count, Django stamps last_login.
        user_logged_in.send(sender=type(user), request=request, user=user)
        token = token_issue(user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})

    @extend_schema(
        operation_id="v1_auth_token_destroy",
        summary="Revoke my API token",
        description="Deletes the caller's token; a later request with it gets 401.",
        request=None,
        responses={204: None},
        tags=["auth"],
    )
    def delete(self, request: Request) -> Response:
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
