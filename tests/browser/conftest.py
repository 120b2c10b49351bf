"""Browser tests: headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
