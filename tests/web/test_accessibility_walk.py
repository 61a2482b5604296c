"""Every role's pages on the seeded demo, at a desk (1366 px) and on a phone (375 px): each
answers, has one h1, does not scroll sideways, and axe-core finds no serious or critical
WCAG 2.1 AA violation (docs/web.md#accessibility).

The demo is built exactly as `make demo` builds it. Each role logs in through the form in one
browser context per width and walks every link of its Main navigation plus the detail pages it
reaches from them; the recipient of a check-in opens its links without a login. A walk gathers
every problem of every page before failing, so one run lists them all, and it keeps a full-page
screenshot of each page under var/test-artifacts/screenshots/a11y/<role>/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from teams.invitations import invitation_create_for_email
from teams.models import Membership, OrganizationRole, Role
from tests.web.browser import SCREENSHOTS, axe_report, axe_violations, committed_world, log_in
from transform.models import CheckIn, CheckInKind, Transformation
from transform.rhythm.links import checkin_token

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "a11y-walk-pw"
MEMBER_LOGIN = "demo-member"
TEAM = "search"
# (name, viewport): the desk and the phone of issue 17.
WIDTHS = (("desk", {"width": 1366, "height": 900}), ("phone", {"width": 375, "height": 800}))
REFLOW_WIDTH = 320
# How long a page narrowed to REFLOW_WIDTH may take to lay out again before it counts as too wide.
REFLOW_SETTLE_MS = 3_000
ARTIFACTS = SCREENSHOTS / "a11y"
# Pages a walk opens on purpose that answer otherwise: the site's own error pages.
ERROR_PAGES = {"/o/demo/leadership/": 403, "/o/demo/teams/no-such-team/": 404}


@dataclass(frozen=True)
class Demo:
    transformation: Transformation
    # The open check-ins' answer links, one per kind the demo has, and an invitation's (the
    # recipient's pages), by the name of their screenshot (a token changes with every run).
    checkin_links: dict[str, str]


def demo_build() -> Demo:
    """The demo as `make demo` builds it, plus a login for a plain member of a team (the demo
    has none): the walk covers every role."""
    call_command("load_demo", "--password", DEMO_PASSWORD, stdout=StringIO())
    call_command("seed_demo", "--password", DEMO_PASSWORD, stdout=StringIO())
    transformation = Transformation.objects.get(organization__slug="demo")
    organization = transformation.organization
    member = (
        Membership.objects.filter(organization=organization, team__slug=TEAM, person__user=None)
        .select_related("person")
        .order_by("id")
        .first()
    )
    assert member is not None
    user = get_user_model().objects.create_user(username=MEMBER_LOGIN, password=DEMO_PASSWORD)
    OrganizationRole.objects.create(organization=organization, user=user, role=Role.MEMBER)
    member.person.user = user
    member.person.save(update_fields=["user"])
    links = {}
    for kind in CheckInKind.values:
        checkin = (
            CheckIn.objects.filter(
                organization=organization,
                kind=kind,
                answered_at=None,
                expires_at__gt=timezone.now(),
            )
            .order_by("id")
            .first()
        )
        if checkin is not None:
            links[f"checkin-{kind.replace('_', '-')}"] = f"/c/{checkin_token(checkin)}/"
    # A new hire's invitation to log in: the page the e-mailed link opens.
    invited = invitation_create_for_email(
        organization=organization, email="new.hire@democorp.example", actor=None, name="New Hire"
    )
    links["invitation"] = f"/invitations/{invited.token}/"
    return Demo(transformation=transformation, checkin_links=links)


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Demo]:
    yield from committed_world(django_db_blocker, demo_build)


def detail_pages(demo: Demo, username: str) -> list[str]:
    """The pages a role reaches from its navigation that the navigation does not list."""
    plan = f"/o/demo/plans/{demo.transformation.pk}/"
    milestone = demo.transformation.milestones.get(key="merge-silo-teams")
    pages = [
        # Linked from every page's footer.
        "/o/demo/time-zones/",
        plan,
        f"{plan}board/",
        f"/o/demo/milestones/{milestone.pk}/",
        f"/o/demo/teams/{TEAM}/",
        f"/o/demo/graph/teams/{TEAM}/",
        # The topology as it was before the transformation (the silos), from the graph's form.
        f"/o/demo/graph/?as_of={demo.transformation.start_date - dt.timedelta(days=7)}",
    ]
    if username == "demo-agent":
        # Starting a playbook from a finding: the preview of its milestones and owners (the
        # change agent is the lead it proposes; the admin login has no person to propose).
        pages.append("/o/demo/findings/start/?playbook=devops-buddy-programme")
    if username in {"demo", "demo-leader"}:
        pages.append("/o/demo/leadership/report/")
    return ["/o/demo/", *pages]


def page_problems(
    page: Any, path: str, *, width: str, role: str, status: int = 200, name: str = ""
) -> list[str]:
    """What is wrong with ``path`` at this width: its status, then what ``shown_problems``
    finds. Keeps a screenshot either way, named ``name`` or after the path."""
    where = f"{path} at {page.viewport_size['width']} px"
    response = page.goto(path)
    problems = []
    if response is None or response.status != status:
        problems.append(f"{where}: answered {response.status if response else 'nothing'}")
    # Dates in a path change from day to day; its screenshot's name does not.
    undated = re.sub(r"\d{4}-\d{2}-\d{2}", "date", path.lower())
    name = name or re.sub(r"[^a-z0-9]+", "-", undated).strip("-") or "home"
    return problems + shown_problems(page, where=where, width=width, role=role, name=name)


def shown_problems(page: Any, *, where: str, width: str, role: str, name: str) -> list[str]:
    """What is wrong with the page as it is shown now: its headings, sideways scrolling and
    axe-core's serious or critical violations. Keeps the screenshot ``<role>/<name>-<width>``."""
    problems = []
    headings = page.locator("h1").count()
    if headings != 1:
        problems.append(f"{where}: {headings} h1 headings, not one")
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    # The viewport's own width too: a phone may zoom out to show a page wider than itself.
    shown = min(widths["inner"], page.viewport_size["width"])
    if widths["scroll"] > shown:
        problems.append(f"{where}: scrolls sideways ({widths['scroll']} px wide in {shown} px)")
    violations = axe_violations(page)
    if violations:
        problems.append(axe_report(violations, where=where))
    if width == "phone":
        problems += reflow_problems(page, where=where)
    folder = ARTIFACTS / role
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    return problems


def reflow_problems(page: Any, *, where: str) -> list[str]:
    """WCAG 1.4.10: no sideways scrolling down to 320 px either (a 1280 px window zoomed to
    400 %). The page is narrowed as a zoom would, and given a moment to lay out again (charts
    and drawings follow a resize a frame or two later); then the phone's width comes back."""
    viewport = page.viewport_size
    page.set_viewport_size({"width": REFLOW_WIDTH, "height": viewport["height"]})
    fits = f"() => document.documentElement.scrollWidth <= {REFLOW_WIDTH}"
    problems = []
    try:
        page.wait_for_function(fits, timeout=REFLOW_SETTLE_MS)
    except PlaywrightTimeoutError:
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        problems.append(f"{where}: at {REFLOW_WIDTH} px it is {wide} px wide")
    page.set_viewport_size(viewport)
    return problems


def walk(
    browser: Any,
    web_server: str,
    role: str,
    pages: Any,
    *,
    errors: dict[str, int] | None = None,
    names: dict[str, str] | None = None,
) -> list[str]:
    """Every page of ``pages(page)`` (a function of the logged-in page that lists the paths) at
    both widths, in one browser context per width, then the ``errors`` pages (path: the status
    they answer); every problem found. ``names`` names the screenshots of some paths."""
    problems: list[str] = []
    for width, viewport in WIDTHS:
        context = browser.new_context(
            base_url=web_server, viewport=viewport, is_mobile=width == "phone"
        )
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            for path in pages(page):
                name = (names or {}).get(path, "")
                problems += page_problems(page, path, width=width, role=role, name=name)
            for path, status in (errors or {}).items():
                problems += page_problems(page, path, width=width, role=role, status=status)
        finally:
            context.close()
    return problems


@pytest.mark.parametrize("username", ["demo", "demo-agent", "demo-manager", "demo-leader"])
def test_every_page_of_a_role_is_accessible_at_desk_and_phone_widths(
    browser: Any, web_server: str, database: None, demo: Demo, username: str
):
    visited: list[list[str]] = []

    def pages(page: Any) -> list[str]:
        log_in(page, username, password=DEMO_PASSWORD)
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
        paths += detail_pages(demo, username)
        visited.append(paths)
        return paths

    problems = walk(browser, web_server, username, pages)

    assert not problems, "\n".join(problems)
    assert len(visited) == 2
    assert len(visited[0]) >= 10, visited[0]
    assert "/o/demo/my-checkins/" in visited[0]


def test_a_members_pages_are_accessible_at_desk_and_phone_widths(
    browser: Any, web_server: str, database: None, demo: Demo
):
    visited: list[list[str]] = []

    def pages(page: Any) -> list[str]:
        log_in(page, MEMBER_LOGIN, password=DEMO_PASSWORD)
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
        visited.append(paths)
        return [*paths, f"/o/demo/teams/{TEAM}/"]

    # A member may not see the leadership page: the 403 page, and a 404, are in the walk too.
    problems = walk(browser, web_server, "member", pages, errors=ERROR_PAGES)

    assert not problems, "\n".join(problems)
    assert "/o/demo/my-checkins/" in visited[0]


def test_a_checkin_recipients_pages_are_accessible_at_desk_and_phone_widths(
    browser: Any, web_server: str, database: None, demo: Demo
):
    # The login pages, each kind of check-in a recipient opens from a message and an
    # invitation to log in: no login.
    paths = ["/accounts/login/", "/accounts/password-reset/", *demo.checkin_links.values()]
    names = {path: name for name, path in demo.checkin_links.items()}

    problems = walk(browser, web_server, "recipient", lambda page: paths, names=names)

    assert not problems, "\n".join(problems)
    assert {"checkin-pulse-survey", "checkin-milestone-status"} <= set(demo.checkin_links)


def test_every_step_of_a_pulse_survey_and_its_errors_are_accessible_on_a_phone(
    phone: Any, demo: Demo
):
    phone.goto(demo.checkin_links["checkin-pulse-survey"])
    # A browser that does not check required fields sends the first step empty: the server's
    # errors, next to their questions, must be as accessible as the questions.
    phone.evaluate(
        "() => document.querySelectorAll('[required]').forEach((f) => f.required = false)"
    )
    with phone.expect_navigation():
        phone.get_by_role("button", name="Next").click()
    assert phone.locator("[aria-invalid=true]").count() >= 1
    problems = shown_problems(
        phone, where="survey errors", width="phone", role="recipient", name="survey-errors"
    )
    steps = int(phone.locator("progress.steps").get_attribute("max") or "0")
    for number in range(1, steps + 1):
        for group in phone.locator("fieldset").all():
            radios = group.get_by_role("radio")
            if radios.count():
                radios.nth(radios.count() // 2).check()
        problems += shown_problems(
            phone,
            where=f"survey step {number}",
            width="phone",
            role="recipient",
            name=f"survey-step-{number}",
        )
        if number < steps:
            with phone.expect_navigation():
                phone.get_by_role("button", name="Next").click()

    assert not problems, "\n".join(problems)
    assert steps >= 2
    assert phone.get_by_role("button", name="Send my answers").is_visible()


def test_a_wide_table_is_a_named_region_a_keyboard_can_scroll_only_where_it_is_too_wide(
    page: Any, phone: Any, demo: Demo
):
    for opened in (page, phone):
        log_in(opened, "demo-agent", password=DEMO_PASSWORD)
        opened.goto("/o/demo/scenario/")
    region = phone.get_by_role("region", name="Metrics (scrolls sideways)")

    region.focus()
    phone.keyboard.press("ArrowRight")

    assert region.get_attribute("tabindex") == "0"
    # The arrow key scrolls the focused box sideways (smoothly: wait until it has moved).
    phone.wait_for_function("(box) => box.scrollLeft > 0", arg=region.element_handle())
    # At a desk the same table fits: no region, no extra tab stop.
    assert page.get_by_role("region", name="Metrics (scrolls sideways)").count() == 0
    assert (
        page.locator(".table-scroll[tabindex]").count()
        < phone.locator(".table-scroll[tabindex]").count()
    )


def test_forms_with_errors_and_messages_are_accessible_on_a_phone(phone: Any, demo: Demo):
    # A manager adds someone who is not in the organisation: one message, next to the form.
    log_in(phone, "demo-manager", password=DEMO_PASSWORD)
    phone.goto("/o/demo/my-team/")
    phone.get_by_label("Person's e-mail").first.fill("nobody@example.org")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Add member").first.click()
    problems = shown_problems(
        phone, where="My team, failed add", width="phone", role="demo-manager", name="form-errors"
    )
    alerts = [phone.get_by_role("alert").first.is_visible()]
    # A change agent proposes a lead who is not in the organisation: a list of field errors.
    phone.context.clear_cookies()
    log_in(phone, "demo-agent", password=DEMO_PASSWORD)
    phone.goto("/o/demo/findings/start/?playbook=devops-buddy-programme")
    phone.get_by_label("Lead change agent (e-mail)").fill("nobody@example.org")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Update preview").click()
    problems += shown_problems(
        phone, where="Start playbook, failed", width="phone", role="demo-agent", name="form-errors"
    )
    alerts.append(phone.get_by_role("alert").get_by_role("listitem").first.is_visible())

    # A member saves their time zone: the page after it says so in a message.
    phone.context.clear_cookies()
    log_in(phone, MEMBER_LOGIN, password=DEMO_PASSWORD)
    phone.goto("/o/demo/time-zones/")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Save my time zone").click()
    problems += shown_problems(
        phone, where="Time zones, saved", width="phone", role="member", name="message"
    )
    message = phone.get_by_role("status").get_by_role("listitem")

    assert not problems, "\n".join(problems)
    assert alerts == [True, True]
    assert message.first.text_content().startswith("Times are now shown in")


def test_the_graph_with_people_and_a_chosen_team_is_accessible_on_a_phone(phone: Any, demo: Demo):
    log_in(phone, "demo-agent", password=DEMO_PASSWORD)
    phone.goto("/o/demo/graph/?people=on")
    # Choosing a team in the table swaps its panel in with htmx; focus mode then shows it with
    # its neighbours. Both change the page after it loaded: check it as it is then.
    phone.locator("a.team-link").first.click()
    phone.locator("#team-panel table").first.wait_for()
    phone.get_by_role("button", name="Focus").click()

    problems = shown_problems(
        phone, where="graph, people, one team", width="phone", role="demo-agent", name="graph-team"
    )

    assert not problems, "\n".join(problems)
    assert phone.get_by_role("button", name="Show all").is_enabled()


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two CSS colours given as ``rgb(r, g, b)``."""

    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_keyboard_focus_ring_stands_out_from_the_page(page: Any, demo: Demo):
    log_in(page, "demo-agent", password=DEMO_PASSWORD)
    page.goto("/o/demo/findings/")
    # The first Tab reaches the skip link, the second the brand link of the header.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    ring = page.evaluate(
        """() => {
          const style = getComputedStyle(document.activeElement);
          return {colour: style.outlineColor, width: parseFloat(style.outlineWidth),
                  page: getComputedStyle(document.body).backgroundColor,
                  header: getComputedStyle(document.querySelector(".site-header")).backgroundColor};
        }"""
    )

    assert ring["width"] >= 2
    # WCAG 1.4.11: 3:1 against what the ring sits on.
    assert contrast(ring["colour"], ring["page"]) >= 3, ring
    assert contrast(ring["colour"], ring["header"]) >= 3, ring
