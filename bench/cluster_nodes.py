"""The cluster under bench/cluster.py: ``deploy/local-cluster.sh N`` started, pinned, read
(lease owners, readiness) and stopped, and join tokens minted for its seeded people."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.signaling_servers import SECRET  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
IDLE_WINDOW_S = 3.0
PROXY_SETTLE_S = 4.0
REDIS_URL = "redis://127.0.0.1:6379/0"


# --- the cluster (deploy/local-cluster.sh) ------------------------------------------------------


@dataclass
class Cluster:
    proc: subprocess.Popen[str]
    dir: Path
    proxy: str
    nodes: dict[str, str] = field(default_factory=dict)  # node id -> direct URL

    def pid(self, node: str) -> int:
        return int((self.dir / f"{node}.pid").read_text().strip())

    def pids(self) -> list[int]:
        return [self.pid(n) for n in self.nodes]

    def hold(self, node: str) -> None:
        (self.dir / f"hold{node.removeprefix('node')}").touch()

    def release(self, node: str) -> None:
        (self.dir / f"hold{node.removeprefix('node')}").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)


def start_cluster(n: int, db_url: str, channel: str) -> Cluster:
    work = Path(tempfile.mkdtemp(prefix=f"circle-bench-cluster{n}-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "CIRCLE_REDIS_CHANNEL": channel,
        "CLUSTER_DIR": str(work),
        "CLUSTER_CMD": f"{sys.executable} -m server",
        "CIRCLE_SCHEDULER_ENABLED": "false",
        "CIRCLE_MEDIA_ENABLED": "false",
        "CIRCLE_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        ["bash", str(ROOT / "deploy" / "local-cluster.sh"), str(n)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    cluster = Cluster(proc, work, "")
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    for line in proc.stdout:
        words = line.split()
        if words[:1] == ["node"] and len(words) == 4:
            cluster.nodes[words[3]] = words[2]
        elif words[:1] == ["proxy"]:
            cluster.proxy = words[1]
        elif words[:1] == ["ready"]:
            return cluster
        if time.monotonic() > deadline:
            break
    cluster.stop()
    raise SystemExit(f"local-cluster.sh {n} did not become ready (see {work})")


def pin_nodes(cluster: Cluster, cpus: set[int]) -> None:
    for pid in cluster.pids():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, cpus)


def lease_owners(db_url: str) -> dict[int, str]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT session_id, owner FROM room_leases").fetchall()
    return {int(sid): str(owner) for sid, owner in rows}


def wait_ready(url: str, limit_s: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def mint(person_id: int, session_id: int, leader: bool) -> str:
    from server.auth.tokens import mint_join_token
    from server.domain import GroupRole

    role = GroupRole.LEADER if leader else GroupRole.MEMBER
    return mint_join_token(SECRET, person_id=person_id, session_id=session_id, role=role, ttl_s=600)
