"""Media tests run inside a private network namespace in which only ``lo`` exists.

The media tests of this run are re-executed together in ``unshare -rn`` (``ip link set lo up``
first) as one child pytest (one interpreter start and one import of aiortc, not one per test),
and each test's reports replayed here as its own; a test the child did not finish (refused
namespace, crash, time-out) is run alone in a namespace of its own. Inside, an autouse fixture
checks that the namespace really has no other interface. If unprivileged user namespaces are
forbidden, the tests fail with that reason; they never fall back to the host network.

Under pytest-xdist with ``--dist loadgroup`` (scripts/test.sh) one worker gets all the tests of
this folder (tests/conftest.py's scheduler) and runs the batch when it reaches the first; with
another distribution each media test runs alone in a namespace of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import netns
from tests.media.harness import Clips

NETNS_ENV = "HC_MEDIA_NETNS"
HERE = Path(__file__).resolve().parent
# Reports of the batch by node id; a test's entry is consumed when it is reported.
_BATCH = pytest.StashKey[dict[str, list[pytest.TestReport]]]()


def _media_items(session: pytest.Session) -> list[pytest.Item]:
    return [
        it
        for it in session.items
        if it.get_closest_marker("media") is not None and HERE in it.path.parents
    ]


def _run_batch(session: pytest.Session) -> None:
    ids = [it.nodeid for it in _media_items(session)]
    session.stash[_BATCH] = netns.run_batch(
        session.config, ids, NETNS_ENV, timeout_s=600 + 300 * len(ids)
    )


def _xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Before the first test: the batch, outside any test's own time limit (pytest-timeout's
    timer of one test would otherwise cover the whole batch); each child test has its own.
    An xdist worker does not know yet which tests it gets: see pytest_runtest_protocol."""
    if netns.inside(NETNS_ENV) or session.config.option.collectonly or session.testsfailed:
        return
    if not _xdist_worker(session.config):
        _run_batch(session)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if netns.inside(NETNS_ENV) or item.get_closest_marker("media") is None:
        return None
    if (
        _BATCH not in item.session.stash
        and _xdist_worker(item.config)
        and item.config.getvalue("loadgroup")
    ):
        # This worker has all of them (loadgroup): the batch, within no test's time limit.
        netns.leave_time_limit_to_child(item)
        _run_batch(item.session)
    reports = item.session.stash.get(_BATCH, {}).pop(item.nodeid, None)
    if reports is not None:
        netns.replay(item, reports)
    else:
        netns.leave_time_limit_to_child(item)
        outcome, text = netns.run_in_namespace(item.nodeid, NETNS_ENV, timeout_s=600)
        netns.report(item, outcome, text)
    # This item ran in a child process; tear down here what pytest's own protocol would have
    # (fixtures of an in-process test before it that the next item does not share).
    item.session._setupstate.teardown_exact(nextitem)
    return True


@pytest.fixture(autouse=True)
def _private_network() -> None:
    if netns.inside(NETNS_ENV):
        netns.check_only_loopback("media tests")


@pytest.fixture(scope="session")
def clips() -> Clips:
    return Clips()
