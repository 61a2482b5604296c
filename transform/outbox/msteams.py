"""Sending to Microsoft Teams (docs/integrations.md#slack-and-microsoft-teams).

An incoming webhook posts to one Teams channel, so only alerts and digests go there, each as a
message with one Adaptive Card (the payload both a Workflows "When a Teams webhook request is
received" flow and a classic Incoming Webhook connector accept). Check-ins and reminders carry a
personal link and are never posted to a channel: with the Teams channel they go by e-mail.

The webhook's answers are judged like a chat webhook's: 2xx sent; 429 (honouring
``Retry-After``), 5xx and network errors retried; any other status fails the row at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import httpx
from django.conf import settings

from transform.models import CheckinSettings, Delivery
from transform.outbox.chat import Post, http_error, post_each, transport_error
from transform.outbox.messages import Message
from transform.outbox.sending import Batch, send_email
from transform.outbox.slack import is_channel_message

SERVICE: Final = "Microsoft Teams"
ADAPTIVE_CARD: Final = "application/vnd.microsoft.card.adaptive"


def teams_card(message: Message) -> dict[str, Any]:
    """The JSON a Teams incoming webhook receives for ``message``: its subject as the card's
    title and its body as wrapped text."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD,
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": message.subject,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": message.body.strip(), "wrap": True},
                    ],
                },
            }
        ],
    }


def _post(http: httpx.Client, url: str, message: Message) -> Any:
    def send() -> None:
        try:
            response = http.post(url, json=teams_card(message))
        except httpx.TransportError as error:
            raise transport_error(error, service=SERVICE) from error
        if not 200 <= response.status_code < 300:
            raise http_error(response, service=SERVICE)

    return send


def send_msteams(
    batch: Batch, rows: Sequence[tuple[Delivery, Message]], *, settings_row: CheckinSettings
) -> None:
    """Alerts and digests to the organisation's Teams webhook; check-ins and reminders by
    e-mail."""
    by_email = [(row, message) for row, message in rows if not is_channel_message(row)]
    to_channel = [(row, message) for row, message in rows if is_channel_message(row)]
    if by_email:
        send_email(batch, by_email)
    if not to_channel:
        return
    url = settings_row.msteams_webhook_url
    if not url:
        for row, _message in to_channel:
            batch.failed(
                row,
                "the organisation's check-in settings have no msteams_webhook_url for the "
                "msteams channel",
                permanent=True,
            )
        return
    with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as http:
        post_each(
            batch,
            [Post(row, message, url, _post(http, url, message)) for row, message in to_channel],
        )
