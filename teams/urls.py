"""API routes of the organisation graph, under /api/v1/."""

from django.urls import path

urlpatterns: list = []
