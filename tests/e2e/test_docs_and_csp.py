"""The API docs and the staff admin load nothing from other sites and break no CSP rule.

Swagger UI is served by the app itself (drf-spectacular-sidecar) and every page carries a
Content-Security-Policy (django-csp). The HTTP checks read the pages and headers; the
browser checks (marked e2e) open them in Debian's chromium with every host other than the
live server blocked, and listen for CSP violations in the console.

The docs are also opened under a public-looking host name (mapped to 127.0.0.1 inside
chromium), because Swagger UI behaves differently on 127.0.0.1/localhost: only elsewhere may
it show its online-validator badge, an image from validator.swagger.io (drf-spectacular's
BaseLayout has none; this keeps it that way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import ARTIFACTS, chromium

DOCS_HOST = "docs.parkme.test"  # resolves to 127.0.0.1 inside chromium only


# --- over HTTP --------------------------------------------------------------------------------


def test_docs_page_references_only_its_own_static_files(db):
    client = Client()
    html = client.get("/api/docs/").content.decode()

    assert "swagger-ui" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), html
    assert "cdn.jsdelivr.net" not in html
    assert "unpkg.com" not in html
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert {urlsplit(a).path.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    for asset in assets:
        assert asset.startswith("/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 500, asset


@pytest.mark.parametrize("url", ["/api/docs/", "/admin/login/", "/admin/", "/api/schema/"])
def test_pages_carry_the_content_security_policy(db, url):
    policy = Client().get(url)["Content-Security-Policy"]

    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline or remote scripts
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_logged_in_admin_pages_carry_the_policy(world, admin_a):
    client = Client()
    client.force_login(admin_a)
    for url in (
        reverse("admin:index"),
        reverse("admin:bookings_booking_changelist"),
        reverse("admin:facilities_facility_dashboard", args=[world.a.facility.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response["Content-Security-Policy"], url


# --- in the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """The shared chromium, with DOCS_HOST mapped to 127.0.0.1."""
    with chromium(f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1") as browser:
        yield browser


@dataclass
class Watch:
    """What a page tried that it should not: requests to other hosts, CSP violations."""

    elsewhere: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.elsewhere == [], self.elsewhere
        assert self.violations == [], self.violations
        assert self.errors == [], self.errors


@pytest.fixture
def watch(page, live_server) -> Watch:
    own_hosts = {urlsplit(live_server.url).hostname, DOCS_HOST}
    seen = Watch()

    def only_own_hosts(route) -> None:
        if urlsplit(route.request.url).hostname in own_hosts:
            route.continue_()
        else:
            seen.elsewhere.append(route.request.url)
            route.abort()

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            seen.violations.append(message.text)

    page.context.route("**/*", only_own_hosts)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    # The browser's own report of each violation, collected in the page.
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push("
        "e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"
    )
    return seen


def reported_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def open_docs(page, base_url: str, watch: Watch) -> None:
    page.goto(f"{base_url}/api/docs/")
    operations = page.locator(".swagger-ui .opblock")
    expect(operations.first).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/facilities/$"))
    ).to_have_count(1)
    assert operations.count() > 10
    page.wait_for_load_state("networkidle")
    assert reported_violations(page) == []
    watch.assert_clean()


@pytest.mark.e2e
def test_docs_render_from_the_app_alone(page, live_server, watch, db):
    try:
        open_docs(page, live_server.url, watch)
    finally:  # what the browser showed, rendered or not
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"), full_page=True)


@pytest.mark.e2e
def test_docs_under_a_public_host_name_reach_nowhere_else(page, live_server, watch, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, DOCS_HOST]
    port = urlsplit(live_server.url).port

    open_docs(page, f"http://{DOCS_HOST}:{port}", watch)


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", factories.PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("ParkMe staff admin")


@pytest.mark.e2e
def test_admin_pages_break_no_csp_rule(page, live_server, watch, world, admin_a):
    facility = world.a.facility
    log_in(page, live_server, admin_a)
    visited = []

    def visit(url: str, ready: str) -> None:
        page.goto(f"{live_server.url}{url}")
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        visited.append((url, reported_violations(page)))

    visit(reverse("admin:bookings_booking_changelist"), "#result_list")
    # The admin's own scripts run: "select all" ticks every row (actions.js).
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select:checked")).to_have_count(
        page.locator("input.action-select").count()
    )
    visit(reverse("admin:facilities_facility_dashboard", args=[facility.pk]), "svg.pm-chart")
    # The dashboard's inline styles apply (style-src allows them): the chart has its size.
    assert page.locator("svg.pm-chart").bounding_box()["width"] > 600
    visit(reverse("admin:facilities_facility_change", args=[facility.pk]), "#facility_form")
    visit(reverse("admin:vehicles_platelookup_changelist"), "#changelist")
    visit(reverse("admin:facilities_facility_add"), "#facility_form")
    # prepopulate.js runs: typing the name fills the slug.
    page.locator("#id_name").press_sequentially("North Garage")
    expect(page.locator("#id_slug")).to_have_value("north-garage")

    assert [(url, found) for url, found in visited if found] == []
    watch.assert_clean()


@pytest.mark.e2e
def test_login_page_breaks_no_csp_rule(page, live_server, watch, db):
    page.goto(f"{live_server.url}/admin/login/")
    expect(page.locator("#id_username")).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert reported_violations(page) == []
    watch.assert_clean()
