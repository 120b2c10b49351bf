"""Run a test in a private network namespace in which only ``lo`` exists.

WebRTC tests (tests/media, the whole-session browser tests) must send nothing beyond
127.0.0.0/8 (shared/WEBRTC-TESTING.md). Each such test is re-executed as a child pytest inside
``unshare -rn`` (``ip link set lo up`` first) and its outcome reported as the test's own; or a
batch of them runs in one child (one interpreter start, one import of aiortc instead of one per
test) and each child report is replayed as the test's own (``run_batch``, ``replay``).
Where unprivileged user namespaces are forbidden the test fails with that reason; it never
falls back to the host network.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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


def leave_time_limit_to_child(item: pytest.Item) -> None:
    """Cancel pytest-timeout's timer of ``item`` in this (parent) process: the child enforces
    the test's own limit, and the parent's, started around the whole protocol, would also
    cover a second attempt and abort the whole run with an INTERNALERROR."""
    cancel = getattr(item.config.hook, "pytest_timeout_cancel_timer", None)
    if cancel is not None:
        cancel(item=item)


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
    return "failed", f"exit status {proc.returncode}\n{out[-20000:]}"


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
            when=when,
            sections=[("namespace run", text)] if when == "call" else [],
        )
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def run_batch(
    config: pytest.Config, nodeids: list[str], env_name: str, *, timeout_s: int
) -> dict[str, list[pytest.TestReport]]:
    """Run ``nodeids`` in one fresh namespace, one child pytest: each test's reports (setup,
    call, teardown) by node id. A test missing from the answer (the child was refused a
    namespace, crashed or timed out) is for the caller to run alone, which reports why."""
    unshare = shutil.which("unshare")
    if unshare is None or not nodeids:
        return {}
    with tempfile.TemporaryDirectory(prefix="hc-netns-") as tmp:
        reports_path = Path(tmp) / "reports.jsonl"
        env = dict(os.environ, **{env_name: "1", "HC_NETNS_REPORTS": str(reports_path)})
        inner = (
            'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider --no-header '
            '-p tests.netns_child "$@"'
        )
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [unshare, "-rn", "sh", "-c", inner, sys.executable, *nodeids],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout_s,
            )
        lines = (
            reports_path.read_text(encoding="utf-8").splitlines() if reports_path.exists() else []
        )
    by_id: dict[str, list[pytest.TestReport]] = {}
    for line in lines:
        data: dict[str, Any] = json.loads(line)
        rep = config.hook.pytest_report_from_serializable(config=config, data=data)
        if isinstance(rep, pytest.TestReport):
            if isinstance(rep.longrepr, list):  # a skip's (path, line, reason) through JSON
                rep.longrepr = tuple(rep.longrepr)
            by_id.setdefault(rep.nodeid, []).append(rep)
    # Only a test whose teardown was reported ran to its end in the child.
    return {k: v for k, v in by_id.items() if any(r.when == "teardown" for r in v)}


def replay(item: pytest.Item, reports: list[pytest.TestReport]) -> None:
    """Report what the child reported for this item as the item's own."""
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for rep in reports:
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
