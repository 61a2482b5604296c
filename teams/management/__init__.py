"""Management commands of the organisation graph."""
