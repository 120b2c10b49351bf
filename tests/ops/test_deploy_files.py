"""The operator files in deploy/ say only what is true: the sample dashboard queries only
metrics a node serves, the compose file and the units name files and commands that exist.
(They are documented, not run here: there is no container engine or systemd in CI.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from server.media.port import MediaSocketStats
from tests.ops.test_metrics import scrape
from tests.signaling.conftest import Server

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


async def test_the_dashboard_queries_only_served_metrics(media_server: Server) -> None:
    # a node whose media worker has a shared socket: its counters are served too
    assert media_server.media is not None
    media_server.media.socket_stats = lambda: (  # type: ignore[method-assign]
        MediaSocketStats(worker=0, received=5, unknown=1, filtered=0, send_dropped=0),
    )
    _, text = await scrape(media_server)
    served = {f.name for f in text_string_to_metric_families(text)}
    dashboard = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = set()
    for expr in exprs:
        for name in re.findall(r"\bcircle_[a-z_]+", expr):
            for suffix in SUFFIXES:
                name = name.removesuffix(suffix)
            used.add(name)
    assert used and not used - served, used - served
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_compose_names_files_that_exist() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "node1", "node2", "node3", "proxy"} <= set(services)
    for svc in services.values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and not source.endswith("metrics_token"):
                assert (DEPLOY / source).exists(), source
    assert (DEPLOY / services["node1"]["build"]["dockerfile"].removeprefix("deploy/")).exists()
    ports = sorted(int(s["command"][-1]) for n, s in services.items() if n.startswith("node"))
    cfg = (DEPLOY / "haproxy.cfg").read_text()
    assert [int(p) for p in re.findall(r"server node\d 127\.0\.0\.1:(\d+)", cfg)] == ports


def test_systemd_units_run_circle_and_drain_within_their_stop_timeout() -> None:
    unit = (DEPLOY / "systemd" / "circle@.service").read_text()
    assert "ExecStart=/opt/circle/.venv/bin/circle serve --host 127.0.0.1 --port %i" in unit
    assert "KillSignal=SIGTERM" in unit
    timeout = int(re.search(r"TimeoutStopSec=(\d+)", unit).group(1))  # type: ignore[union-attr]
    assert timeout > 30  # the default drain bound, with a margin
    migrate = (DEPLOY / "systemd" / "circle-migrate.service").read_text()
    assert "circle db upgrade" in migrate
