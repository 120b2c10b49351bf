"""Loaded (``-p tests.netns_child``) by a child pytest that runs a batch of tests in a private
network namespace (tests/netns.py): each report is written, serialised as pytest-xdist does, one
JSON line a report, to the file named by ``HC_NETNS_REPORTS``, for the parent to replay as the
test's own."""

from __future__ import annotations

import json
import os

import pytest

REPORTS_ENV = "HC_NETNS_REPORTS"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = os.environ.get(REPORTS_ENV)
    if not path:
        return
    config = _CONFIG[0]
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(data) + "\n")


_CONFIG: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG[:] = [config]
