"""Management commands of playbooks."""
