"""Password reset in headless Chromium against the real server and a real SMTP server: ask on
the sign-in page, read the link from the e-mail, open it (the token leaves the address bar at
once), choose a new password, arrive signed in; the old password and the used link fail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.scheduling.api import SERVICE_KEY
from tests.browser.support import DESKTOP, axe_violations
from tests.browser.test_coordinator import Server
from tests.foundation.seed import PASSWORD
from tests.smtp import Inbox, smtp_server, text_of

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"
IN_THE_APP = "Before you join: Balint A"
LINK = re.compile(r"http://\S+/app/#reset=\S+")


@pytest.fixture
def reset_server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, Inbox]]:
    with smtp_server() as (inbox, port):
        # The scheduler is off: the test runs the mailer itself, so the e-mail is there when
        # the call returns (no waiting on the mail job's interval).
        srv = Server(
            tmp_path,
            built_client,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            scheduler_enabled=False,
        )
        srv.start()
        yield srv, inbox
        srv.stop()


def deliver(srv: Server) -> int:
    assert srv.runner is not None
    mailer = srv.runner.app[SERVICE_KEY].mailer
    sent: int = srv.run(mailer.deliver_once(datetime.now(UTC))).sent
    return sent


def sign_in(page: Any, url: str, password: str) -> None:
    page.goto(f"{url}/app/")
    page.get_by_label("Email address").fill("m0@test.example")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_forgot_password_by_email_then_sign_in_with_the_new_one(
    browser: Any, reset_server: tuple[Server, Inbox]
) -> None:
    srv, inbox = reset_server
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{srv.url}/app/")
    page.get_by_label("Email address").fill("m0@test.example")
    page.get_by_test_id("forgot-link").click()
    form = page.get_by_test_id("forgot")
    form.wait_for()
    assert form.get_by_label("Email address").input_value() == "m0@test.example"
    assert axe_violations(page, "password-forgot") == []
    form.get_by_role("button", name="Send me a link").click()
    sent = page.get_by_test_id("forgot-sent")
    sent.wait_for()
    assert sent.inner_text() == (
        "If an account exists for this address, we have sent a link. It works once, for 60 minutes."
    )

    assert deliver(srv) == 1
    (message,) = inbox.messages
    assert message["To"] == "m0@test.example"
    found = LINK.search(text_of(message))
    assert found is not None
    link = found.group(0)
    assert link.startswith(f"{srv.url}/app/#reset=")

    page.goto(link)
    reset = page.get_by_test_id("reset")
    reset.wait_for()
    # The token is gone from the address bar (and so from history and bookmarks).
    assert page.evaluate("location.hash") == ""
    assert page.url == f"{srv.url}/app/"
    assert reset.get_by_label("New password", exact=True).get_attribute("autocomplete") == (
        "new-password"
    )
    assert axe_violations(page, "password-reset") == []
    status = page.get_by_test_id("reset-status")
    reset.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    reset.get_by_label("Repeat the new password").fill(NEW_PASSWORD + "!")
    reset.get_by_role("button", name="Save and sign in").click()
    assert status.inner_text() == "The two passwords are not the same."
    reset.get_by_label("New password", exact=True).fill("short")
    reset.get_by_label("Repeat the new password").fill("short")
    reset.get_by_role("button", name="Save and sign in").click()
    assert status.inner_text() == "This password is too short: use at least 10 characters."

    reset.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    reset.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    reset.get_by_role("button", name="Save and sign in").click()
    # Signed in, in the app: it opens the member's session, which starts within minutes.
    page.get_by_role("heading", name=IN_THE_APP).wait_for()

    # Elsewhere: the old password no longer works, the new one does; the link is spent.
    other = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    sign_in(other, srv.url, PASSWORD)
    other.get_by_role("alert").filter(has_text="not recognised").wait_for()
    sign_in(other, srv.url, NEW_PASSWORD)
    other.get_by_role("heading", name=IN_THE_APP).wait_for()

    again = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    again.goto(link)
    again.get_by_label("New password", exact=True).fill("another passphrase")
    again.get_by_label("Repeat the new password").fill("another passphrase")
    again.get_by_role("button", name="Save and sign in").click()
    problem = again.get_by_test_id("reset-problem")
    problem.wait_for()
    assert problem.inner_text() == "This link has already been used. Ask for a new one."
    again.get_by_role("button", name="Ask for a new link").click()
    again.get_by_test_id("forgot").wait_for()
    assert errors == []


def test_coordinator_sign_in_links_to_the_forgot_form_in_persian(
    browser: Any, reset_server: tuple[Server, Inbox]
) -> None:
    srv, inbox = reset_server
    page = browser.new_context(viewport=DESKTOP, locale="fa-IR").new_page()
    page.goto(f"{srv.url}/app/coordinator.html")
    page.get_by_test_id("forgot-link").click()
    form = page.get_by_test_id("forgot")
    form.wait_for()
    assert page.evaluate("location.hash") == ""
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert form.get_by_role("heading").inner_text() == "گذرواژه را فراموش کرده‌اید؟"
    # An address the browser would not accept is refused before anything is sent.
    form.get_by_role("textbox").fill("not an address")
    form.get_by_role("button", name="پیوند را بفرست").click()
    assert page.get_by_test_id("forgot-status").inner_text() == "یک نشانی ایمیل درست وارد کنید."
    form.get_by_role("textbox").fill("nobody@test.example")
    form.get_by_role("button", name="پیوند را بفرست").click()
    assert "۶۰" in page.get_by_test_id("forgot-sent").inner_text()  # Persian digits
    assert deliver(srv) == 0 and inbox.messages == []
