"""Media tests run inside a private network namespace in which only ``lo`` exists.

Each media test is re-executed in ``unshare -rn`` (``ip link set lo up`` first) as a child
pytest, and its outcome reported here. Inside, an autouse fixture checks that the namespace
really has no other interface. If unprivileged user namespaces are forbidden, the tests fail
with that reason; they never fall back to the host network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.reports import TestReport

from tests.media.harness import Clips

NETNS_ENV = "HC_MEDIA_NETNS"
ROOT = Path(__file__).resolve().parents[2]


def _inside() -> bool:
    return os.environ.get(NETNS_ENV) == "1"


def _run_in_namespace(nodeid: str) -> tuple[str, str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        return "failed", "media tests need unshare(1) to create a private network namespace"
    env = dict(os.environ, **{NETNS_ENV: "1"})
    inner = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", nodeid]
    try:
        proc = subprocess.run(
            [unshare, "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *inner],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:
        return "failed", f"media test timed out in its namespace: {exc}"
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return "passed", out
    if "unshare" in out and ("Operation not permitted" in out or "Permission denied" in out):
        return "failed", (
            "cannot create a private network namespace (unprivileged user namespaces are "
            "forbidden on this host?); media tests refuse to run on the host network:\n" + out
        )
    if proc.returncode == 5 or (
        " skipped" in out and " passed" not in out and " failed" not in out
    ):
        return "skipped", out
    return "failed", out[-12000:]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if _inside() or item.get_closest_marker("media") is None:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    outcome, text = _run_in_namespace(item.nodeid)
    for when in ("setup", "call", "teardown"):
        this = outcome if when == "call" else "passed"
        longrepr: object = None
        if when == "call" and outcome == "failed":
            longrepr = text
        elif when == "call" and outcome == "skipped":
            longrepr = (str(item.path), 0, "skipped in namespace")
            this = "skipped"
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
def _private_network() -> None:
    if not _inside():
        return
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        pytest.fail(f"media tests must run in a private network namespace, found {interfaces}")


@pytest.fixture(scope="session")
def clips() -> Clips:
    return Clips()
