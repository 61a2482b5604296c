"""Playbooks: the versioned YAML format and the built-in library, exit criteria checked on the
live graph and signals, and the pure planning of dates, slack and the critical path."""
