"""API routes of the organisation graph, under /api/v1/."""

urlpatterns: list = []
