"""Media tests run inside a private network namespace in which only ``lo`` exists.

Each media test is re-executed in ``unshare -rn`` (``ip link set lo up`` first) as a child
pytest, and its outcome reported here. Inside, an autouse fixture checks that the namespace
really has no other interface. If unprivileged user namespaces are forbidden, the tests fail
with that reason; they never fall back to the host network.
"""

from __future__ import annotations

import pytest

from tests import netns
from tests.media.harness import Clips

NETNS_ENV = "HC_MEDIA_NETNS"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if netns.inside(NETNS_ENV) or item.get_closest_marker("media") is None:
        return None
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
