"""One-click links in headless Chromium: opening a sign-in link (as a mail scanner's prefetch
would) spends nothing; the page takes the token out of the address bar and signs in only when
the person presses the button; the spent link then says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import DESKTOP
from tests.browser.test_coordinator import Server
from tests.foundation.seed import World, invitation

pytestmark = pytest.mark.browser


@pytest.fixture
def app_server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client)
    world = srv.start()
    yield srv, world
    srv.stop()


def test_a_sign_in_link_is_spent_only_by_the_click(
    browser: Any, app_server: tuple[Server, World]
) -> None:
    srv, world = app_server
    token = srv.run(invitation(srv.db_url, world.member_ids[0]))
    link = f"{srv.url}/app/#signin={token}"
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # A scanner's fetch of the old form of the link: a redirect, nothing spent.
    prefetch = page.request.get(f"{srv.url}/i/{token}", max_redirects=0)
    assert prefetch.status == 302

    page.goto(link)
    form = page.get_by_test_id("signin")
    form.wait_for()
    assert page.evaluate("location.hash") == ""  # the token left the address bar
    assert page.request.get(f"{srv.url}/api/me").status == 401  # not signed in by opening it
    form.get_by_role("button", name="Sign in").click()
    page.get_by_text("Before you join: Balint A").wait_for()
    assert page.request.get(f"{srv.url}/api/me").json()["id"] == world.member_ids[0]

    # The same link again, in another browser: used.
    other = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    other.goto(link)
    other.get_by_test_id("signin").get_by_role("button", name="Sign in").click()
    problem = other.get_by_test_id("reset-problem")
    problem.wait_for()
    assert problem.inner_text() == "This link has already been used. Ask for a new one."
    assert errors == []
