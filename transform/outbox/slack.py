"""Sending over Slack's Web API with the organisation's bot token
(docs/integrations.md#slack-and-microsoft-teams).

A check-in or reminder goes to its recipient privately: their Slack user id is looked up by
e-mail (``users.lookupByEmail``, kept in ``SlackMember`` until the person's e-mail changes or
Slack no longer knows the id) and the message is posted with ``chat.postMessage`` and that id as
``channel``, which Slack delivers as a direct message from the app. It is never posted to a
channel: someone Slack does not know by that e-mail gets nothing over Slack and the row fails
visibly, saying so.

Alerts and digests go to the organisation's ``slack_alert_channel`` when one is set, else to its
Slack incoming webhook (``webhook_url``) when one is set, else privately to their recipient
like a check-in.

Slack answers most errors with HTTP 200 and ``{"ok": false, "error": "..."}``. Rate limits
(HTTP 429 with ``Retry-After``, or ``ratelimited``), Slack's own failures (5xx,
``internal_error``, ``fatal_error``, ``service_unavailable``, ``request_timeout``) and network
errors are retried with the outbox's backoff; every other error fails the row at once with the
reason in plain words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import httpx
from django.conf import settings
from django.utils import timezone

from teams.models import Person
from transform.models import CheckinSettings, Delivery
from transform.models.outbox import SlackMember
from transform.outbox.chat import ChatError, Post, http_error, post_each, transport_error
from transform.outbox.messages import CHECKIN_DELIVERY_KINDS, Message
from transform.outbox.sending import Batch, send_webhook, webhook_body

SERVICE: Final = "Slack"

RETRYABLE_ERRORS: Final = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Errors of the token or the app: every other message of the group would fail the same way.
APP_ERRORS: Final = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "team_access_not_granted",
    }
)
# A cached user id Slack no longer knows (the account was deleted, or the workspace changed).
STALE_USER_ERRORS: Final = frozenset({"channel_not_found", "user_not_found", "user_disabled"})

EXPLANATIONS: Final = {
    "users_not_found": "no Slack account has this e-mail address",
    "invalid_auth": "the organisation's Slack bot token is not valid",
    "not_authed": "no Slack bot token was sent",
    "account_inactive": "the Slack bot token belongs to a deleted app or user",
    "token_revoked": "the Slack bot token was revoked",
    "token_expired": "the Slack bot token has expired",
    "missing_scope": (
        "the Slack app lacks a scope it needs (users:read, users:read.email, chat:write, "
        "im:write); add it and reinstall the app"
    ),
    "channel_not_found": "Slack knows no such channel",
    "not_in_channel": "the Slack app is not a member of the channel: invite it there",
    "is_archived": "the Slack channel is archived",
    "user_disabled": "the Slack account is deactivated",
    "ratelimited": "Slack asked to slow down",
}


def api_url() -> str:
    base = str(settings.TRANSFORM_SLACK_API_URL)
    return base if base.endswith("/") else base + "/"


class SlackClient:
    """Calls to Slack's Web API over one HTTP session, with the bot token."""

    def __init__(self, *, token: str, http: httpx.Client) -> None:
        self.token = token
        self.http = http

    def call(
        self, method: str, *, form: dict[str, str] | None = None, json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST to ``method``; the answer when ``ok``, else ``ChatError``."""
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            if json is not None:
                response = self.http.post(method, json=json, headers=headers)
            else:
                response = self.http.post(method, data=form or {}, headers=headers)
        except httpx.TransportError as error:
            raise transport_error(error, service=SERVICE) from error
        if response.status_code != 200:
            raise http_error(response, service=SERVICE)
        try:
            answer = response.json()
        except ValueError as error:
            raise ChatError(
                f"Slack answered {method} with something that is not JSON", retryable=True
            ) from error
        if not isinstance(answer, dict):
            raise ChatError(f"Slack answered {method} with unexpected JSON", retryable=True)
        if answer.get("ok") is True:
            return answer
        raise slack_error(method, str(answer.get("error") or "unknown_error"))

    def lookup_by_email(self, email: str) -> str:
        answer = self.call("users.lookupByEmail", form={"email": email})
        user = answer.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise ChatError("Slack's users.lookupByEmail answer has no user id", retryable=True)
        return user_id

    def post_message(self, *, channel: str, message: Message) -> None:
        self.call(
            "chat.postMessage",
            json={
                "channel": channel,
                "text": message.text,
                "unfurl_links": False,
                "unfurl_media": False,
            },
        )


def slack_error(method: str, code: str) -> ChatError:
    explanation = EXPLANATIONS.get(code)
    text = f"Slack {method}: {code}" + (f" ({explanation})" if explanation else "")
    if code in RETRYABLE_ERRORS:
        return ChatError(text, retryable=True, stop=code == "ratelimited", code=code)
    return ChatError(text, retryable=False, stop=code in APP_ERRORS, code=code)


class _Members:
    """The Slack user ids of the group's recipients: cached ``SlackMember`` rows (read in one
    query), looked up by e-mail when missing or made for another e-mail."""

    def __init__(self, *, client: SlackClient, organization_id: int, people: list[Person]):
        self.client = client
        self.organization_id = organization_id
        self.cached: dict[int, SlackMember] = {
            member.person_id: member
            for member in SlackMember.objects.filter(
                organization_id=organization_id, person_id__in=[person.pk for person in people]
            )
        }

    def user_id(self, person: Person) -> str:
        member = self.cached.get(person.pk)
        if member is not None and member.email.lower() == person.email.lower():
            return member.slack_user_id
        try:
            user_id = self.client.lookup_by_email(person.email)
        except ChatError as error:
            if error.code == "users_not_found":
                self.forget(person)
            raise
        member, _created = SlackMember.objects.update_or_create(
            organization_id=self.organization_id,
            person=person,
            defaults={
                "email": person.email,
                "slack_user_id": user_id,
                "looked_up_at": timezone.now(),
            },
        )
        self.cached[person.pk] = member
        return user_id

    def forget(self, person: Person) -> None:
        if self.cached.pop(person.pk, None) is not None:
            SlackMember.objects.filter(organization_id=self.organization_id, person=person).delete()


def _direct(client: SlackClient, members: _Members, row: Delivery, message: Message) -> None:
    """Post ``message`` to ``row``'s recipient as a direct message. A cached user id Slack no
    longer knows is forgotten and looked up once more."""
    person = row.recipient
    was_cached = person.pk in members.cached
    user_id = members.user_id(person)
    try:
        client.post_message(channel=user_id, message=message)
    except ChatError as error:
        if not was_cached or error.code not in STALE_USER_ERRORS:
            raise
        members.forget(person)
        client.post_message(channel=members.user_id(person), message=message)


def _unknown_person(error: ChatError, row: Delivery) -> ChatError:
    if error.code != "users_not_found":
        return error
    return ChatError(
        f"{error}: {row.recipient.email} has no Slack account under this e-mail, so the message "
        "was not sent (it is never posted to a channel); invite them to the workspace or give "
        "them the e-mail their Slack account uses",
        retryable=False,
        code=error.code,
    )


def is_channel_message(row: Delivery) -> bool:
    """Whether ``row`` may be posted to a channel: alerts and digests, never a check-in link."""
    return row.kind not in CHECKIN_DELIVERY_KINDS


def send_slack(
    batch: Batch,
    rows: Sequence[tuple[Delivery, Message]],
    *,
    settings_row: CheckinSettings,
    organization_id: int,
) -> None:
    """Send ``rows`` (one organisation's) over Slack: direct messages for check-ins and
    reminders, the alert channel (or the incoming webhook) for alerts and digests."""
    token = settings_row.slack_bot_token
    if not token:
        for row, _message in rows:
            batch.failed(
                row,
                "the organisation's check-in settings have no slack_bot_token for the slack "
                "channel",
                permanent=True,
            )
        return
    channel = settings_row.slack_alert_channel
    to_webhook = [
        (row, message)
        for row, message in rows
        if is_channel_message(row) and not channel and settings_row.webhook_url
    ]
    webhook_ids = {row.pk for row, _message in to_webhook}
    to_api = [(row, message) for row, message in rows if row.pk not in webhook_ids]
    if to_webhook:
        send_webhook(batch, to_webhook, url=settings_row.webhook_url, body=slack_webhook_body)
    if not to_api:
        return
    with httpx.Client(base_url=api_url(), timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as http:
        client = SlackClient(token=token, http=http)
        members = _Members(
            client=client,
            organization_id=organization_id,
            people=[row.recipient for row, _message in to_api],
        )
        posts = []
        for row, message in to_api:
            if is_channel_message(row) and channel:
                posts.append(Post(row, message, channel, _channel_send(client, channel, message)))
            else:
                posts.append(Post(row, message, "", _direct_send(client, members, row, message)))
        post_each(batch, posts)


def _channel_send(client: SlackClient, channel: str, message: Message) -> Any:
    def send() -> None:
        client.post_message(channel=channel, message=message)

    return send


def _direct_send(client: SlackClient, members: _Members, row: Delivery, message: Message) -> Any:
    def send() -> None:
        try:
            _direct(client, members, row, message)
        except ChatError as error:
            raise _unknown_person(error, row) from error

    return send


def slack_webhook_body(row: Delivery, message: Message) -> dict[str, Any]:
    """An alert or digest for a Slack incoming webhook: its text only (the channel is the
    webhook's; the recipient's e-mail is not posted)."""
    return {"text": webhook_body(row, message)["text"]}


def slack_member_forget(person: Person) -> tuple[str, int]:
    """Erasure (``teams.erasure.erasure_forgets``): the person's Slack user id is a lookup, not
    evidence; an erased person's is deleted, so nothing links the pseudonym to a Slack account."""
    deleted, _ = SlackMember.objects.filter(person=person).delete()
    return SlackMember._meta.label, deleted
