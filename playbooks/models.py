"""Playbooks and transformation plans (issue 3)."""
