"""The circle command: help everywhere, migrations, user add, demo; bad input changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SECRET

COMMANDS = [
    [],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["db", "current"],
    ["user"],
    ["user", "add"],
    ["demo"],
    ["bots"],
    ["doctor"],
    ["attendance"],
    ["attendance", "rebuild"],
]


def run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": SECRET}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=180,  # a safety net: on a loaded 2-core machine beside xdist workers 60 s ran out
        check=False,
    )


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "circle")
def test_help_everywhere(cmd, tmp_path):
    r = run([*cmd, "--help"], tmp_path)
    assert r.returncode == 0 and "usage: circle" in r.stdout


def test_upgrade_user_add_and_demo(tmp_path):
    r = run(["db", "current"], tmp_path)
    assert r.returncode == 1  # not migrated yet
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    assert run(["db", "current"], tmp_path).returncode == 0
    r = run(
        [
            "user",
            "add",
            "--email",
            "a@x.example",
            "--name",
            "Ann",
            "--org",
            "xh",
            "--org-name",
            "X Hospital",
            "--role",
            "coordinator",
            "--password-stdin",
        ],
        tmp_path,
        stdin="a long password\n",
    )
    assert r.returncode == 0, r.stderr
    assert "one-click link: http://127.0.0.1:8080/app/#signin=" in r.stdout
    r = run(["demo"], tmp_path)
    assert r.returncode == 0, r.stderr
    links = [line for line in r.stdout.splitlines() if "/app/#signin=" in line]
    assert len(links) == 13  # coordinator, leader, co-leader and 10 members
    assert "(leader)" in r.stdout and "(co_leader)" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--email", "not-an-email", "--name", "A", "--org", "xh", "--org-name", "X"], "email"),
        (
            ["--email", "a@x.example", "--name", "", "--org", "xh", "--org-name", "X"],
            "display_name",
        ),
        (
            ["--email", "a@x.example", "--name", "A", "--org", "Bad Slug!", "--org-name", "X"],
            "slug",
        ),
        (["--email", "a@x.example", "--name", "A", "--org", "xh"], "--org-name"),
        (
            [
                "--email",
                "a@x.example",
                "--name",
                "A",
                "--org",
                "xh",
                "--org-name",
                "X",
                "--timezone",
                "Nowhere/Land",
            ],
            "timezone",
        ),
    ],
)
def test_user_add_refuses_bad_input(args, needle, tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    r = run(["user", "add", *args], tmp_path)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    r = run(
        ["user", "add", "--email", "a@x.example", "--name", "A", "--org", "xh", "--org-name", "X"],
        tmp_path,
    )
    assert r.returncode == 0  # nothing was half-created by the refused call


@pytest.mark.slow
def test_serve_refuses_unmigrated_database_and_bad_config(tmp_path):
    r = run(["serve", "--port", "1"], tmp_path)
    assert r.returncode == 2 and "circle db upgrade" in r.stderr
    r = run(["serve", "--port", "99999"], tmp_path)
    assert r.returncode == 2 and "port" in r.stderr
    r = run(["demo", "--start-in", "-5"], tmp_path)
    assert r.returncode == 2


@pytest.mark.slow
def test_doctor_on_an_unmigrated_then_a_fresh_database(tmp_path):
    r = run(["doctor"], tmp_path)
    assert r.returncode == 2 and "circle db upgrade" in r.stderr
    r = run(["doctor", "--json"], tmp_path)
    assert r.returncode == 2 and '"migrated": false' in r.stdout
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    r = run(["doctor"], tmp_path)
    assert r.returncode == 0 and "ok: every pending dispatch has a handler" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--session", "1", "--count", "0"], "--count"),
        (["--session", "1", "--count", "13"], "--count"),
        (["--session", "1", "--seconds", "-1"], "--seconds"),
        (["--session", "999", "--count", "2"], "no session 999"),
        (["--session", "x"], "invalid int"),
    ],
)
def test_bots_refuse_bad_input(args, needle, tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    r = run(["bots", *args], tmp_path)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
