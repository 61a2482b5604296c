"""Admin for stored playbooks: read-only, because a stored version never changes."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from playbooks.models import Playbook


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "title", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["key", "title"]
    readonly_fields = [
        "organization",
        "key",
        "version",
        "title",
        "summary",
        "definition",
        "source",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New playbooks go through load_playbook or the API, which validate the file.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
