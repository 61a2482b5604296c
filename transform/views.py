"""Server-rendered pages; the check-in response form (docs/checkins.md)."""

from django.http import HttpRequest, HttpResponse


def checkin_respond(request: HttpRequest, token: str) -> HttpResponse:
    """Placeholder: filled in by the response work."""
    return HttpResponse(status=404)
