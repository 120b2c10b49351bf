"""The embedded default keeps its files owner-only, and a key file is checked like SECRET_KEY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def circle(args: list[str], var: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CIRCLE_VAR_DIR": str(var), **env}
    for key in ("DATABASE_URL", "SECRET_KEY"):
        if key not in env:
            full.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
        check=False,
    )


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_db_upgrade_creates_var_the_database_and_the_key_owner_only(tmp_path: Path) -> None:
    var = tmp_path / "var"
    old = os.umask(0o022)  # a usual umask would leave them world-readable
    try:
        r = circle(["db", "upgrade"], var)
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    assert mode(var) == 0o700
    assert mode(var / "circle.db") == 0o600
    assert mode(var / "secret_key") == 0o600


def test_a_key_file_others_can_read_is_refused_and_names_the_key(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    key = var / "secret_key"
    key.write_text("k" * 48)
    key.chmod(0o644)
    r = circle(["db", "upgrade"], var)
    assert r.returncode != 0
    assert "secret_key" in r.stderr and "chmod 600" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (var / "circle.db").exists()  # nothing was created before the refusal


def test_a_short_key_in_the_file_is_refused_like_a_short_secret_key(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    key = var / "secret_key"
    key.write_text("short")
    key.chmod(0o600)
    r = circle(["db", "upgrade"], var)
    assert r.returncode != 0
    assert "secret_key" in r.stderr and "32 characters" in r.stderr
    assert "Traceback" not in r.stderr
