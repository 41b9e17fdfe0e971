"""Browser tests: Playwright (sync API) driving Debian's chromium against a live server.

CI installs /usr/bin/chromium (.ci/run); where it is missing the tests skip with a reason.
Each test leaves a screenshot in tests/e2e/artifacts/<test>.png (git-ignored).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import (  # noqa: F401 - fixtures shared with the admin tests
    _staff_groups,
    admin_a,
    world,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's headless chromium under Playwright (skips the test where it is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI does it in .ci/run)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, so Django would refuse the
    # ORM calls the tests make between browser steps; they are plain synchronous code.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
            )
            yield browser
            browser.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
