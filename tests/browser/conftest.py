"""Browser tests: headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import netns
from tests.browser.live import LiveServer
from tests.browser.stub import StubServer
from tests.browser.support import ARTIFACTS, CHROMIUM, DENYING_ARGS, GRANTING_ARGS, ensure_built


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Close the pages a test left open (a failed test, or one that ends with them open)
    before its fixtures' servers stop: a server stopped under live pages waits for their
    sockets and leaves request handlers to a closed loop, and pages left in the session's
    browser would keep their fake cameras busy through every later test."""
    funcargs = getattr(item, "funcargs", {})
    for name in ("browser", "denying_browser"):
        b = funcargs.get(name)
        for context in list(b.contexts) if b is not None else []:
            with contextlib.suppress(Exception):
                context.close()
    yield


@pytest.fixture
def stub(built_client: Path) -> Iterator[StubServer]:
    server = StubServer(built_client)
    server.start()
    yield server
    server.stop()


# ---- end-to-end tests with WebRTC run in a private network namespace -----------------------
# As in tests/media: the tests marked `media` are re-executed together as one child pytest
# inside `unshare -rn` (only `lo`, brought up first; one interpreter start, one import of the
# server and aiortc, one Chromium, instead of one each per test) and each test's reports
# replayed here as its own. The batch starts with the run, in the background, and the page
# tests run here meanwhile (the WebRTC tests are collected last): the two cores are shared by
# two streams, never by two WebRTC tests, whose frame rates and media timings are measured.
# A test that failed in the batch, or that the child did not finish (a crash, a time-out),
# gets one more attempt alone in a namespace of its own. Where unprivileged user namespaces
# are forbidden the test fails with that reason; it never falls back to the host network.

NETNS_ENV = "HC_BROWSER_NETNS"
HERE = Path(__file__).resolve().parent
# The batch's reports by node id; a test's entry is consumed when it is reported.
_BATCH = pytest.StashKey[Future[dict[str, list[pytest.TestReport]]]]()


def _inside() -> bool:
    return netns.inside(NETNS_ENV)


def _media_items(items: list[pytest.Item]) -> list[pytest.Item]:
    return [
        it for it in items if it.get_closest_marker("media") is not None and HERE in it.path.parents
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The WebRTC tests last: by the time the run reaches them, their batch has run beside
    the page tests."""
    media = _media_items(items)
    chosen = set(media)
    items[:] = [it for it in items if it not in chosen] + media


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start the batch in the background, outside any test's own time limit (each child test
    has its own). Not in a pytest-xdist worker, which runs only some of the tests: there each
    WebRTC test runs alone."""
    if (
        _inside()
        or session.config.option.collectonly
        or session.testsfailed
        or os.environ.get("PYTEST_XDIST_WORKER")
    ):
        return
    ids = [it.nodeid for it in _media_items(session.items)]
    if not ids:
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="browser-webrtc-batch")
    session.stash[_BATCH] = pool.submit(
        netns.run_batch, session.config, ids, NETNS_ENV, timeout_s=600 + 300 * len(ids)
    )
    pool.shutdown(wait=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if _inside() or item.get_closest_marker("media") is None:
        return None
    # The children enforce each test's own time limit (this item's would cover the batch).
    netns.leave_time_limit_to_child(item)
    batch = item.session.stash.get(_BATCH, None)
    reports = batch.result().pop(item.nodeid, None) if batch is not None else None
    if reports is not None and not any(r.failed for r in reports):
        netns.replay(item, reports)
    else:
        # One more attempt for a whole-session browser run on a shared 2-core machine; the
        # first failure stays visible in the report.
        first = (
            "\n".join(r.longreprtext for r in reports if r.failed)
            if reports is not None
            else "not run or not finished in the batch"
        )
        if batch is not None:
            # Kept even when the second attempt passes: a test that needs it is a flaky test.
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / f"first-attempt-{item.name}.txt").write_text(first, encoding="utf-8")
        outcome, text = netns.run_in_namespace(item.nodeid, NETNS_ENV, timeout_s=900)
        if outcome == "failed" and netns.REFUSED not in text and reports is None:
            first = text
            outcome, text = netns.run_in_namespace(item.nodeid, NETNS_ENV, timeout_s=900)
        text = f"{text}\n---- first attempt failed ----\n{first[-8000:]}"
        netns.report(item, outcome, text)
    # This item ran in a child process; tear down here what pytest's own protocol would have
    # (fixtures of an in-process test before it that the next item does not share).
    item.session._setupstate.teardown_exact(nextitem)
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
