"""Run a test in a private network namespace in which only ``lo`` exists.

WebRTC tests (tests/media, the whole-session browser tests) must send nothing beyond
127.0.0.0/8 (shared/WEBRTC-TESTING.md). Each such test is re-executed as a child pytest inside
``unshare -rn`` (``ip link set lo up`` first) and its outcome reported as the test's own.
Where unprivileged user namespaces are forbidden the test fails with that reason; it never
falls back to the host network.
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

ROOT = Path(__file__).resolve().parents[1]
REFUSED = "cannot create a private network namespace"


def inside(env_name: str) -> bool:
    return os.environ.get(env_name) == "1"


def check_only_loopback(what: str) -> None:
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        pytest.fail(f"{what} must run in a private network namespace, found {interfaces}")


def run_in_namespace(nodeid: str, env_name: str, *, timeout_s: int) -> tuple[str, str]:
    """Run ``nodeid`` in a fresh namespace: ("passed" | "failed" | "skipped", output)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "failed", "these tests need unshare(1) to create a private network namespace"
    env = dict(os.environ, **{env_name: "1"})
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
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        return "failed", f"timed out in its namespace: {exc}"
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return "passed", out
    if "unshare" in out and ("Operation not permitted" in out or "Permission denied" in out):
        return "failed", (
            f"{REFUSED} (unprivileged user namespaces are forbidden on this host?); "
            "WebRTC tests refuse to run on the host network:\n" + out
        )
    if proc.returncode == 5 or (
        " skipped" in out and " passed" not in out and " failed" not in out
    ):
        return "skipped", out
    return "failed", out[-20000:]


def report(item: pytest.Item, outcome: str, text: str) -> None:
    """Report the child's outcome as this item's setup, call and teardown."""
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for when in ("setup", "call", "teardown"):
        this = outcome if when == "call" else "passed"
        longrepr: object = None
        if when == "call" and outcome == "failed":
            longrepr = text
        elif when == "call" and outcome == "skipped":
            longrepr = (str(item.path), 0, "skipped in namespace")
        rep = TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords={k: 1 for k in item.keywords},
            outcome=this,  # type: ignore[arg-type]
            longrepr=longrepr,  # type: ignore[arg-type]
            when=when,  # type: ignore[arg-type]
            sections=[("namespace run", text)] if when == "call" else [],
        )
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
