"""Which package may import which (docs/architecture.md), checked on the source so it cannot
drift; plus the few facts the layout promises: no import cycle between packages, no imports
hidden inside functions, no Socket.IO under the media engine, one writer of outbox rows.

Adding a package: give it a line in ``MAY_IMPORT`` (what it may import besides itself and the
shared vocabulary in ``BASE``) and a paragraph in docs/architecture.md. A package or module
missing from the table fails ``test_every_module_has_a_rule`` with the line to add.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "server"

# The shared vocabulary: enums, the error taxonomy, settings, the web client's page addresses.
# Everyone may import it; it imports no other part of the server.
BASE = frozenset({"domain", "errors", "pages", "settings"})

# Top-level package or module of server/ -> what else of server/ it may import.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "errors": frozenset(),
    "pages": frozenset(),
    "settings": frozenset(),
    "db": frozenset(),
    # The process's Prometheus counters: a leaf that rooms and signaling call in one line.
    "metrics": frozenset(),
    # Structured (JSON) log lines with request and session ids; the request-id middleware.
    "logs": frozenset(),
    # The session's life: the pure status table and join window, and its one writer.
    "lifecycle": frozenset(),
    "session_status": frozenset({"db", "lifecycle"}),
    "audit": frozenset({"db"}),
    "auth": frozenset({"db"}),
    "appkeys": frozenset({"auth", "db"}),
    "protocols": frozenset(),
    "media": frozenset({"appkeys"}),
    "bots": frozenset({"media"}),
    "rooms": frozenset(
        {"audit", "db", "lifecycle", "media", "metrics", "protocols", "session_status"}
    ),
    "signaling": frozenset({"appkeys", "auth", "logs", "media", "metrics", "protocols", "rooms"}),
    "notify": frozenset({"appkeys", "db"}),
    "api": frozenset({"appkeys", "audit", "auth", "db", "lifecycle", "notify", "protocols"}),
    # Feature packages: REST on the api package's Router, notices through notify.
    "scheduling": frozenset(
        {
            "api",
            "appkeys",
            "audit",
            "auth",
            "db",
            "lifecycle",
            "notify",
            "protocols",
            "session_status",
        }
    ),
    # A person's data across every package's tables: export, erasure, retention.
    "privacy": frozenset(
        {
            "api",
            "appkeys",
            "attendance",
            "audit",
            "coaching",
            "db",
            "notify",
            "pathways",
            "questionnaires",
            "scheduling",
        }
    ),
    # Attendance records derived from the rooms' events (and outages); excuses, corrections.
    "attendance": frozenset({"api", "appkeys", "audit", "db", "rooms"}),
    # The published scores over attendance and hand-entered inputs.
    "scores": frozenset({"api", "appkeys", "attendance", "audit", "db", "questionnaires"}),
    # Instruments, scoring, outcome statistics, research exports and imports (REST on api);
    # the answering side: forms, form links (auth's token scheme), triggers registered with
    # scheduling, mail through notify.
    "questionnaires": frozenset({"api", "appkeys", "audit", "auth", "db", "notify", "scheduling"}),
    # Coaching calls after a workshop: offers from attendance (each mailed through notify),
    # booked through scheduling.
    "coaching": frozenset(
        {"api", "appkeys", "attendance", "audit", "db", "notify", "protocols", "scheduling"}
    ),
    # Pathways: peer support (offers heard through the questionnaires' submission port,
    # matching, conversations booked through scheduling), messages to leaders, self-help hosts
    # and meeting reports.
    "pathways": frozenset(
        {"api", "appkeys", "audit", "db", "notify", "questionnaires", "scheduling"}
    ),
}

# Composition roots wire packages together: they may import anything, and only other
# composition roots import them. They are also the only modules that import inside functions
# (the CLI keeps `circle --help` from loading aiortc and the database drivers).
COMPOSERS = frozenset(
    {
        "server.__main__",
        "server.app",
        "server.cli",
        "server.cli_ops",
        "server.cli_questionnaires",
        "server.doctor",
        "server.metrics_http",  # /metrics reads the rooms, the pool, the outbox, the dispatches
        "server.cli_cluster",
        "server.db.model_registry",  # every package's tables, for Alembic and the tests
        "server.db.migrations",
    }
)

# Third-party packages a package must not import (directly; at run time see the test below).
MUST_NOT_IMPORT: dict[str, frozenset[str]] = {
    "protocols": frozenset({"aiohttp", "aiortc", "asyncio", "socketio", "sqlalchemy"}),
    "media": frozenset({"socketio"}),
    "notify": frozenset({"socketio", "aiortc"}),
}


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module, e.g. server.api.auth
    target: str  # what it imports, e.g. server.notify.outbox or sqlalchemy
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def composer(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in COMPOSERS)


def top(module: str) -> str:
    """server.api.auth -> api; server.app -> app."""
    return module.split(".")[1]


def source_files() -> Iterator[Path]:
    for path in sorted(SERVER.rglob("*.py")):
        if "versions" not in path.parts:  # Alembic revisions: generated, frozen in time
            yield path


def imports_of(path: Path) -> Iterator[Import]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(), str(path))

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(module, alias.name, child.lineno, in_function)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    # ``from server import api`` imports server.api; ``from x import name``: x
                    target = f"{base}.{alias.name}" if base == "server" else base
                    yield Import(module, target, child.lineno, in_function)
            yield from visit(child, inside)

    yield from visit(tree, False)


def all_imports() -> list[Import]:
    return [i for path in source_files() for i in imports_of(path)]


def test_every_module_has_a_rule() -> None:
    missing = sorted(
        {
            top(module_name(p))
            for p in source_files()
            if module_name(p) != "server"
            and not composer(module_name(p))
            and top(module_name(p)) not in MAY_IMPORT
        }
    )
    assert not missing, (
        f"no import rule for {missing}: add a line to MAY_IMPORT in {Path(__file__).name} "
        "and a paragraph to docs/architecture.md"
    )


def test_packages_import_only_what_their_rule_allows() -> None:
    wrong: set[str] = set()
    for i in all_imports():
        if not i.target.startswith("server.") or composer(i.module) or i.module == "server":
            continue
        source, target = top(i.module), top(i.target)
        if composer(i.target):
            wrong.add(f"{i.module}:{i.line} imports the composition root {i.target}")
        elif target != source and target not in BASE | MAY_IMPORT.get(source, frozenset()):
            wrong.add(f"{i.module}:{i.line} imports {i.target} ({source} may not use {target})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_rules_have_no_cycle() -> None:
    state: dict[str, int] = {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(MAY_IMPORT[node] | (BASE - {node} if node not in BASE else set())):
            assert state.get(nxt) != 1, f"import cycle allowed: {' -> '.join([*path, nxt])}"
            if nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for name in MAY_IMPORT:
        if name not in state:
            walk(name, [name])


def test_no_import_hides_inside_a_function() -> None:
    hidden = {
        f"{i.module}:{i.line} imports {i.target} inside a function"
        for i in all_imports()
        if i.in_function and i.target.startswith("server") and not composer(i.module)
    }
    assert not hidden, "\n".join(sorted(hidden))


def test_forbidden_third_party_imports() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in all_imports()
        if i.module != "server"
        and i.target.split(".")[0] in MUST_NOT_IMPORT.get(top(i.module), frozenset())
    ]
    assert not wrong, "\n".join(wrong)


def test_the_media_engine_loads_no_socketio() -> None:
    """Transitively, at run time: importing every module of server.media loads no socketio."""
    code = (
        "import importlib, pkgutil, sys, server.media\n"
        "for m in pkgutil.walk_packages(server.media.__path__, 'server.media.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('socketio', 'engineio')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_one_writer_of_outbox_rows() -> None:
    """grep: only server/notify/outbox.py creates outbox rows (enqueue)."""
    writers = sorted(
        str(p.relative_to(ROOT))
        for p in source_files()
        if re.search(r"insert\(OutboxMessage\)|(?<!class )\bOutboxMessage\(", p.read_text())
    )
    assert writers == ["server/notify/outbox.py"], writers


def test_the_architecture_doc_states_each_rule() -> None:
    """docs/architecture.md has a paragraph per package naming everything its rule allows."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    paragraphs = doc.split("\n\n")
    problems = []
    for name, allowed in MAY_IMPORT.items():
        if name in BASE:
            heads = [p for p in paragraphs if p.startswith("**Shared vocabulary**")]
            if not heads or f"`{name}.py`" not in heads[0]:
                problems.append(f"{name}.py is not in the shared vocabulary paragraph")
            continue
        found = [p for p in paragraphs if p.startswith((f"**`{name}/`**", f"**`{name}.py`**"))]
        if not found:
            problems.append(f"no paragraph starting **`{name}/`** or **`{name}.py`**")
            continue
        problems += [
            f"{name}'s paragraph does not name `{x}`"
            for x in sorted(allowed)
            if f"`{x}`" not in found[0]
        ]
    roots = [p for p in paragraphs if p.startswith("**Composition roots**")]
    for c in sorted(COMPOSERS):
        path = c.removeprefix("server.").replace(".", "/")
        if not roots or not any(f"`{path}{end}`" in roots[0] for end in (".py", "/")):
            problems.append(f"the composition roots paragraph does not name {path}")
    assert not problems, "\n".join(problems)
