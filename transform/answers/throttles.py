"""The rate limit on check-in links (docs/api.md#authentication): reading and answering a check-in
through its signed link, the page (``/c/<token>/``) and the API (``/api/v1/checkin-links/``)
together, count per address (scope ``checkin_link``). Signed links cannot be guessed; the limit
keeps a forger from trying them by the thousand and from loading the server with lookups."""

from __future__ import annotations

from core.throttles import AddressThrottle


class CheckinLinkThrottle(AddressThrottle):
    scope = "checkin_link"
