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
# axe-core from npm (package.json's devDependencies), injected into pages by the accessibility
# checks; the WCAG 2.1 A and AA rules, and the impacts that fail a test.
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_FAILING_IMPACTS = frozenset({"serious", "critical"})
# Runs in the page: the violations only, each cut down to what a failure message shows.
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map((node) => node.target.join(" ")),
    summary: (v.nodes[0] && v.nodes[0].failureSummary) || "",
  }));
}"""
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


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 AA violations of the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN, AXE_TAGS)
    return [violation for violation in found if violation["impact"] in AXE_FAILING_IMPACTS]


def axe_report(violations: list[dict[str, Any]], *, where: str) -> str:
    """A failure message a person can act on: rule, what it asks, where on which page."""
    lines = [f"{where}: {len(violations)} serious or critical axe-core violation(s)"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}, {violation['count']} element(s)): "
            f"{violation['help']}"
        )
        lines.extend(f"    at {target}" for target in violation["targets"])
        if violation["summary"]:
            lines.append("    " + violation["summary"].replace("\n", "\n    "))
    return "\n".join(lines)


def assert_accessible(page: Any, *, where: str) -> None:
    """Fail when axe-core finds a serious or critical WCAG 2.1 AA violation on the page."""
    violations = axe_violations(page)
    assert not violations, axe_report(violations, where=where)
