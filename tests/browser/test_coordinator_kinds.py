"""The coordinator's create form offers the new group kinds (issue 15): a resilience workshop
and a self-help group can be created from the pages, each kind showing its member bounds from
the protocol table (`GET /api/protocols`); coaching groups are made by the system, not here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import DESKTOP, axe_violations, screenshot
from tests.browser.test_coordinator import Server
from tests.browser.test_coordinator_flows import _login
from tests.foundation.seed import World

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client)
    world = srv.start()
    yield srv, world
    srv.stop()


def test_coordinator_creates_a_workshop_and_a_self_help_group_seeing_member_bounds(
    browser: Any, server: tuple[Server, World]
) -> None:
    srv, _ = server
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/Amsterdam")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, srv.url)
    new = page.locator("form[aria-labelledby=new-group]")
    method = new.locator("select[name=protocol]")
    method.wait_for()
    kinds = method.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    assert kinds == ["balint", "dynamic", "peer_support", "workshop", "self_help"]
    bounds = new.get_by_test_id("protocol-bounds")
    assert bounds.inner_text() == "8-12 members (leaders not counted). A new group takes up to 12."
    method.select_option("peer_support")
    assert bounds.inner_text() == "One-to-one: one member and one leader."
    method.select_option(label="Resilience workshop")
    assert bounds.inner_text() == "4-12 members (leaders not counted). A new group takes up to 12."
    screenshot(page, "coord-kinds-workshop")
    assert axe_violations(page, "coord-kinds-workshop") == []
    new.get_by_label("Name").fill("Workshop May")
    new.get_by_role("button", name="Create group").click()
    page.get_by_role("heading", name="Workshop May", level=1).wait_for()

    page.goto(f"{srv.url}/app/coordinator.html#/")
    new = page.locator("form[aria-labelledby=new-group]")
    new.locator("select[name=protocol]").select_option("self_help")
    assert new.get_by_test_id("protocol-bounds").inner_text() == (
        "3-12 members (leaders not counted). A new group takes up to 12."
    )
    new.get_by_label("Name").fill("Night nurses' circle")
    new.get_by_role("button", name="Create group").click()
    page.get_by_role("heading", name="Night nurses' circle", level=1).wait_for()
    page.goto(f"{srv.url}/app/coordinator.html#/")
    groups = page.locator("ul.groups li")
    groups.first.wait_for()
    text = [" ".join(x.split()) for x in groups.all_inner_texts()]
    assert "Workshop May (Resilience workshop, 0/12 members)" in text
    assert "Night nurses' circle (Peer-led self-help group, 0/12 members)" in text
    assert errors == []
    context.close()
