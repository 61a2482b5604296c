"""What every part of Transform needs and no domain knows about: the error shape, API plumbing,
strict file reading with its limits, the slug rule and parsing a moment in time.

``core`` imports Django, DRF, pydantic and ruamel.yaml only, never a project package
(import-linter keeps it so: docs/architecture.md).
"""
