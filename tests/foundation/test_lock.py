"""requirements.lock (scripts/lock.sh) covers pyproject.toml: every runtime and test
dependency is pinned, with hashes, at a version its specifier allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _locked() -> dict[str, tuple[str, list[str]]]:
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            pins[current] = (m.group(2), [])
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
    return pins


def test_lock_pins_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["test"],
        *project["build-system"]["requires"],
    ]
    pins = _locked()
    assert all(hashes for _, hashes in pins.values()), "a pin without --hash"
    missing, outside = [], []
    for spec in wanted:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        if name not in pins:
            missing.append(spec)
        elif not req.specifier.contains(pins[name][0], prereleases=True):
            outside.append(f"{spec} (locked {pins[name][0]})")
    assert not missing and not outside, (
        f"run scripts/lock.sh: missing {missing}, outside the specifier {outside}"
    )
