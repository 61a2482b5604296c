"""Shared pytest fixtures. The worlds (tests/builders.py) are built once per test module and
rolled back after it; each test gets its own copy in a savepoint of that build."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tests.builders import (
    CheckinRig,
    PlanWorld,
    RhythmWorld,
    WebDemo,
    World,
    build_api_world,
    build_checkin_rig,
    build_plan_world,
    build_rhythm_world,
    build_web_demo,
    fresh,
    module_world,
)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Tests log users in, they do not test hashing strength: PBKDF2 costs ~1 s per user here.
    Session-wide, so that worlds built once per module hash quickly too."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session", autouse=True)
def rate_limits_in_process_memory() -> Iterator[None]:
    """Rate limits count requests in the cache: in tests, each process's own memory, never a
    Redis that other test processes (or the broker) share, so emptying it disturbs nobody."""
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def no_requests_counted_yet(rate_limits_in_process_memory: None) -> None:
    """Each test starts with no request counted towards a rate limit: a suite makes far more
    requests a minute from one address and one user id than any client should."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def organization(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture(scope="module")
def api_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    yield from module_world(django_db_blocker, build_api_world)


@pytest.fixture
def api_world(api_world_built: World, db: None) -> World:
    """Two organisations and a login per role (``build_api_world``)."""
    return fresh(api_world_built)


@pytest.fixture(scope="module")
def plan_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[PlanWorld]:
    yield from module_world(django_db_blocker, build_plan_world)


@pytest.fixture
def plan_world(plan_world_built: PlanWorld, db: None) -> PlanWorld:
    """acme's pilot transformation (``build_plan_world``)."""
    return fresh(plan_world_built)


@pytest.fixture(scope="module")
def rhythm_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[RhythmWorld]:
    yield from module_world(django_db_blocker, build_rhythm_world)


@pytest.fixture
def rhythm_world(rhythm_world_built: RhythmWorld, db: None) -> RhythmWorld:
    """A small organisation's started pilot transformation (``build_rhythm_world``)."""
    return fresh(rhythm_world_built)


@pytest.fixture(scope="module")
def checkin_rig_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[CheckinRig]:
    yield from module_world(django_db_blocker, build_checkin_rig)


@pytest.fixture
def checkin_rig(checkin_rig_built: CheckinRig, db: None) -> CheckinRig:
    """acme's started pilot transformation with Ada, to put check-ins to (``build_checkin_rig``)."""
    return fresh(checkin_rig_built)


@pytest.fixture(scope="module")
def web_demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, build_web_demo)


@pytest.fixture
def web_demo_answered(web_demo_built: WebDemo, db: None) -> WebDemo:
    """The demo with logins, a started plan, check-ins, answers and signals (``build_web_demo``)."""
    return fresh(web_demo_built)


@pytest.fixture(scope="module")
def web_demo_plain_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, lambda: build_web_demo(answers=False))


@pytest.fixture
def web_demo_plain(web_demo_plain_built: WebDemo, db: None) -> WebDemo:
    """The demo with logins and a started plan, without check-ins, answers or signals."""
    return fresh(web_demo_plain_built)


# --- keeping a module's world to the tests that use it ------------------------------------------
#
# A world fixture (named ``*_built``, module-scoped) keeps its transaction open while its tests
# run, so other tests of the same module must not run in between: they would see its rows. The
# tests of a module that use no world run first, those sharing a world run together after them,
# and a world is rolled back as soon as the next test does not use it (e.g. a transactional test
# of the same module, which pytest-django runs after every other database test).


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(
        (marker is not None and marker.kwargs.get("transaction"))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


def _world_of(item: pytest.Item) -> str:
    names = [name for name in getattr(item, "fixturenames", ()) if name.endswith("_built")]
    return names[0] if names else ""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ordered: list[pytest.Item] = []
    run: list[pytest.Item] = []
    for item in items:
        # pytest-django has put transactional tests after the others: keep them there.
        if run and (item.path, _transactional(item)) != (run[0].path, _transactional(run[0])):
            ordered += sorted(run, key=_world_of)
            run = []
        run.append(item)
    ordered += sorted(run, key=_world_of)
    items[:] = ordered


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    result = yield
    world = _world_of(item)
    if world and (nextitem is None or _world_of(nextitem) != world):
        fixture_info = getattr(item, "_fixtureinfo", None)
        definitions = fixture_info.name2fixturedefs.get(world) if fixture_info else None
        if definitions:
            definitions[-1].finish(item._request)  # type: ignore[attr-defined]
    return result
