"""Reads the rhythm's capabilities share: an organisation's check-in settings."""

from __future__ import annotations

from teams.models import Organization
from transform.models import CheckinSettings


def checkin_settings_get(*, organization: Organization) -> CheckinSettings:
    """The organisation's rhythm settings: its stored row, or an unsaved row with the defaults."""
    found = CheckinSettings.objects.filter(organization=organization).first()
    return found if found is not None else CheckinSettings(organization=organization)
