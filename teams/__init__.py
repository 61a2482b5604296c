"""The organisation graph: teams, people, memberships and interactions with their history,
import and export, the pure analysis, scenarios, organisation-level access and its API."""
