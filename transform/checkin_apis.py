"""API routes; filled in by the issue-4 work (see docs/api.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
