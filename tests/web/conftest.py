"""Browser tests: Playwright driving Debian's Chromium (``make browser`` installs it; Playwright
never downloads a browser of its own) against a live server of the project.

A browser module builds its world once and commits it (the live server answers from its own
database connection), and the database is flushed after the module, as a transactional test
would. The tests carry the ``browser`` marker: ``pytest -m "not browser"`` runs everything else.
Screenshots go to var/test-artifacts/screenshots/ so a run leaves a few pictures to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.builders import WebDemo, build_web_demo
from tests.web.browser import CHROMIUM_FLAGS, chromium_path, committed_world


# Package scope: the browser (and Playwright's event loop) is gone before any other tests run.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around
    # it are still synchronous, which Django must be told is fine. Only while the browser is open
    # (this package's tests), so no other test or subprocess inherits the setting.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_FLAGS
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """pytest-django's, plus the test database when only browser tests run: they use no ``db``
    fixture (their worlds are committed), so pytest-django would not create it for them."""
    from django.test.utils import setup_databases, teardown_databases

    def uses_db(item: pytest.Item) -> bool:
        fixtures = set(getattr(item, "fixturenames", ()))
        return bool(item.get_closest_marker("django_db") or fixtures & {"db", "transactional_db"})

    if any(uses_db(item) for item in request.session.items):
        yield  # pytest-django has set the test database up
        return
    with django_db_blocker.unblock():
        created = setup_databases(verbosity=0, interactive=False)
    yield
    with django_db_blocker.unblock():
        teardown_databases(created, verbosity=0)


@pytest.fixture(scope="session")
def web_server(django_db_setup: None) -> Iterator[str]:
    """The project served on a free local port (Django's live server thread, static files
    included); its URL."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost")
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def web_demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    """The web demo (``build_web_demo``), committed for a browser module."""
    yield from committed_world(django_db_blocker, build_web_demo)


@pytest.fixture
def database(django_db_blocker: Any) -> Iterator[None]:
    """The live server, and the test itself, read the committed database. Connections are
    closed after the test: Playwright's event loop gives the test its own connections, which
    nothing else would close before the test database is dropped."""
    with django_db_blocker.unblock():
        yield
        connections.close_all()


@pytest.fixture
def page(browser: Any, web_server: str, database: None) -> Iterator[Any]:
    context = browser.new_context(base_url=web_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def phone(browser: Any, web_server: str, database: None) -> Iterator[Any]:
    context = browser.new_context(
        base_url=web_server, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()
