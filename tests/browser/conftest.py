"""Browser tests: headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import netns
from tests.browser.live import LiveServer
from tests.browser.stub import StubServer
from tests.browser.support import CHROMIUM, DENYING_ARGS, GRANTING_ARGS, ensure_built


@pytest.fixture(scope="session")
def built_client() -> Path:
    return ensure_built()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    b = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=GRANTING_ARGS
    )
    yield b
    b.close()


@pytest.fixture(scope="session")
def denying_browser(playwright_driver: Any) -> Iterator[Any]:
    b = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=DENYING_ARGS
    )
    yield b
    b.close()


@pytest.fixture
def stub(built_client: Path) -> Iterator[StubServer]:
    server = StubServer(built_client)
    server.start()
    yield server
    server.stop()


# ---- end-to-end tests with WebRTC run in a private network namespace -----------------------
# As in tests/media: each test marked `media` is re-executed as a child pytest inside
# `unshare -rn` (only `lo`, brought up first) and its outcome reported here. Where
# unprivileged user namespaces are forbidden the test fails with that reason; it never falls
# back to the host network.

NETNS_ENV = "HC_BROWSER_NETNS"


def _inside() -> bool:
    return netns.inside(NETNS_ENV)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if _inside() or item.get_closest_marker("media") is None:
        return None
    netns.leave_time_limit_to_child(item)
    outcome, text = netns.run_in_namespace(item.nodeid, NETNS_ENV, timeout_s=900)
    if outcome == "failed" and netns.REFUSED not in text:
        # One more attempt for a whole-session browser run on a shared 2-core machine; the
        # first failure stays visible in the report.
        first = text
        outcome, text = netns.run_in_namespace(item.nodeid, NETNS_ENV, timeout_s=900)
        text = f"{text}\n---- first attempt failed ----\n{first[-8000:]}"
    netns.report(item, outcome, text)
    return True


@pytest.fixture(autouse=True)
def _private_network(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("media") is None or not _inside():
        return
    netns.check_only_loopback("WebRTC browser tests")


@pytest.fixture
def live_server(built_client: Path, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, built_client)
    yield server
    server.stop()
