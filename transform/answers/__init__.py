"""Answers: a check-in answered through its signed, single-use link (form page and API) or by its
logged-in recipient, validated against the instruments it asks and stored once (docs/responses.md)."""
