"""What browser tests share besides fixtures: the Chromium to drive, logging in through the form,
screenshots, and a world committed for the live server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from django.core.management import call_command
from django.db import connections

from tests.builders import WEB_PASSWORD

T = TypeVar("T")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("Debian's chromium is missing: run `make browser` (make test does).")
    return found


def committed_world(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """For a module-scoped fixture: ``build`` a world and commit it, so the live server sees it;
    flush the database after the module."""
    with django_db_blocker.unblock():
        world = build()
    try:
        yield world
    finally:
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)
            connections.close_all()


def log_in(page: Any, username: str, *, password: str = WEB_PASSWORD) -> None:
    """Log in through the login form, as a person would, and wait for the page it leads to."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
