"""Posting a group of messages to a chat service one by one (Slack's Web API,
``transform.outbox.slack``; a Microsoft Teams incoming webhook, ``transform.outbox.msteams``),
and recording each row's outcome in the batch the way ``send_webhook`` does: sent; retried after
a rate limit, a 5xx answer or a network error (after a rate limit or a network error the rest of
the group waits for the next attempt too); failed at once for an answer that will not change
when asked again.

A channel post is for everyone in the channel: the same alert or digest, queued for several
people and sent in one batch, is posted once; its other rows are recorded sent with it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from celery.exceptions import SoftTimeLimitExceeded

from transform.models import Delivery
from transform.outbox.messages import Message
from transform.outbox.sending import Batch, short_error

logger = logging.getLogger(__name__)


class ChatError(Exception):
    """A message the chat service did not take. ``retryable``: asking again later may work;
    ``stop``: the rest of the group is not attempted in this batch (rate limited, unreachable,
    or a credential every message would fail on); ``retry_after``: the seconds the service
    asked us to wait; ``code``: the service's own error code, when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        stop: bool = False,
        retry_after: float | None = None,
        code: str = "",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.stop = stop
        self.retry_after = retry_after
        self.code = code


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header of a 429 in seconds (Slack and Teams send seconds)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def http_error(response: httpx.Response, *, service: str) -> ChatError:
    """The ``ChatError`` of an HTTP answer that is not a success: 429 and 5xx are retried (429
    stops the group), anything else fails at once."""
    status = response.status_code
    text = short_error(f"{service} answered {status}: {response.text[:200]}")
    if status == 429:
        return ChatError(
            f"{service} asked to slow down (429)",
            retryable=True,
            stop=True,
            retry_after=retry_after_seconds(response),
        )
    return ChatError(text, retryable=status >= 500)


def transport_error(error: httpx.TransportError, *, service: str) -> ChatError:
    return ChatError(
        f"{service} unreachable: {short_error(error)}", retryable=True, stop=True, retry_after=None
    )


@dataclass(frozen=True)
class Post:
    """One row to send: to whom or where (``target``, for de-duplicating channel posts; empty
    for a direct message, never de-duplicated) and how (``send``, raises ``ChatError``)."""

    row: Delivery
    message: Message
    target: str
    send: Callable[[], None]


def post_each(batch: Batch, posts: Sequence[Post]) -> None:
    """Send ``posts`` in order and record each outcome in ``batch``."""
    done: dict[tuple[str, str], Delivery] = {}  # (channel, text) -> the row that posted it
    for index, post in enumerate(posts):
        row = post.row
        key = (post.target, post.message.text)
        if post.target and key in done:
            # The same text is already in that channel: posting it again would say it twice.
            batch.sent(row)
            continue
        batch.in_flight = row.pk
        try:
            post.send()
        except SoftTimeLimitExceeded:
            raise
        except ChatError as error:
            batch.failed(
                row, str(error), permanent=not error.retryable, retry_after=error.retry_after
            )
            if error.stop:
                reason = short_error(f"not attempted: {error}")
                for later in posts[index + 1 :]:
                    batch.failed(
                        later.row,
                        reason,
                        permanent=not error.retryable,
                        retry_after=error.retry_after,
                    )
                return
            continue
        except Exception as error:  # a bug or an unexpected answer: retried, bounded by attempts
            logger.exception("posting delivery %s failed", row.pk)
            batch.failed(row, error, permanent=False)
            continue
        batch.sent(row)
        if post.target:
            done[key] = row
