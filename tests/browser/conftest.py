"""Browser tests: headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.reports import TestReport

from tests.browser.live import LiveServer
from tests.browser.stub import StubServer
from tests.browser.support import CHROMIUM, DENYING_ARGS, GRANTING_ARGS, ROOT, ensure_built


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
    return os.environ.get(NETNS_ENV) == "1"


def _run_in_namespace(nodeid: str) -> tuple[str, str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        return "failed", "browser media tests need unshare(1) for a private network namespace"
    env = dict(os.environ, **{NETNS_ENV: "1"})
    inner = (
        f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider "
        f"--no-header -x {nodeid!r}"
    )
    try:
        proc = subprocess.run(
            [unshare, "-rn", "sh", "-c", inner],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired as exc:
        return "failed", f"browser test timed out in its namespace: {exc}"
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return "passed", out
    if "unshare" in out and ("Operation not permitted" in out or "Permission denied" in out):
        return "failed", (
            "cannot create a private network namespace (unprivileged user namespaces are "
            "forbidden on this host?); WebRTC browser tests refuse the host network:\n" + out
        )
    if proc.returncode == 5 or (
        " skipped" in out and " passed" not in out and " failed" not in out
    ):
        return "skipped", out
    return "failed", out[-20000:]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if _inside() or item.get_closest_marker("media") is None:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    outcome, text = _run_in_namespace(item.nodeid)
    if outcome == "failed" and "private network namespace" not in text:
        # One more attempt for a whole-session browser run on a shared 2-core machine; the
        # first failure stays visible in the report.
        first = text
        outcome, text = _run_in_namespace(item.nodeid)
        text = f"{text}\n---- first attempt failed ----\n{first[-8000:]}"
    for when in ("setup", "call", "teardown"):
        this = outcome if when == "call" else "passed"
        longrepr: object = None
        if when == "call" and outcome == "failed":
            longrepr = text
        elif when == "call" and outcome == "skipped":
            longrepr = (str(item.path), 0, "skipped in namespace")
        report = TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords={k: 1 for k in item.keywords},
            outcome=this,  # type: ignore[arg-type]
            longrepr=longrepr,  # type: ignore[arg-type]
            when=when,  # type: ignore[arg-type]
            sections=[("namespace run", text)] if when == "call" else [],
        )
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.fixture(autouse=True)
def _private_network(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("media") is None or not _inside():
        return
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        pytest.fail(
            f"WebRTC browser tests must run in a private network namespace, found {interfaces}"
        )


@pytest.fixture
def live_server(built_client: Path, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, built_client)
    yield server
    server.stop()
