"""Transformations, check-ins and readiness (issues 3 and 4)."""
