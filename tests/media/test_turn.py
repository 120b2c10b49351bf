"""Media through a real coturn on 127.0.0.1 with TURN REST credentials, relay-only ICE."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.bots.client import MediaClient
from server.media.ice import IceServer, IceSettings, client_ice_config
from server.media.sfu import SfuSettings
from tests.media.harness import Clips, Harness, wait_until

pytestmark = pytest.mark.media

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
SECRET = "test-shared-secret"
PORT = 3478


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Path]:
    if not Path(TURNSERVER).exists():
        pytest.skip("coturn (turnserver) is not installed")
    config = tmp_path / "turnserver.conf"
    log = tmp_path / "turn.log"
    config.write_text(
        "\n".join(
            [
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                f"listening-port={PORT}",
                "min-port=49200",
                "max-port=49400",
                "use-auth-secret",
                f"static-auth-secret={SECRET}",
                "realm=circle.test",
                "allow-loopback-peers",  # the SFU and the clients are all on 127.0.0.1 here
                "no-multicast-peers",
                "no-tls",
                "no-dtls",
                "no-cli",
                "fingerprint",
                f"log-file={log}",
                "simple-log",
                f"pidfile={tmp_path / 'turn.pid'}",
                f"userdb={tmp_path / 'turndb'}",
                "verbose",
            ]
        )
        + "\n"
    )
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(config), "--no-stdout-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # wait until coturn answers a STUN binding request
        deadline = time.monotonic() + 10
        while not stun_answers():
            if proc.poll() is not None or time.monotonic() > deadline:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise AssertionError(f"coturn did not start: {text[-2000:]}")
            time.sleep(0.1)  # polling an external process until it answers
        yield log
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()


def stun_answers() -> bool:
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, ("127.0.0.1", PORT))
            data = sock.recv(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == request[8:20]


def relay_pair_types(client: MediaClient) -> tuple[str, str]:
    conn = client.pc.getTransceivers()[0].receiver.transport.transport._connection
    pair = conn._nominated[1]
    return pair.local_candidate.type, pair.remote_candidate.type


async def test_media_flows_through_coturn_relay_only(clips: Clips, coturn: Path) -> None:
    ice = IceSettings.loopback(
        turn_urls=(f"turn:127.0.0.1:{PORT}?transport=udp",),
        turn_secret=SECRET,
        relay_only=True,
        server_uses_turn=True,
    )
    async with Harness(clips, SfuSettings(ice=ice)) as h:
        for pid in ("a", "b"):
            # the credentials a browser would get with the offer, minted by the server
            config = client_ice_config(ice, pid, time.time())
            assert config["iceTransportPolicy"] == "relay"
            servers = [
                IceServer(tuple(s["urls"]), s.get("username"), s.get("credential"))
                for s in config["iceServers"]
            ]
            client = h.make_client(pid, ice_servers=servers, relay_only=True, gather_addresses=[])
            await h.join(pid, client)
        await h.wait_connected(20)
        await wait_until(
            lambda: (
                h.clients["a"].frames_from("b", "video") >= 5
                and h.clients["b"].frames_from("a", "audio") >= 5
            ),
            10,
            "media through the relay",
        )
        for pid in ("a", "b"):
            assert relay_pair_types(h.clients[pid]) == ("relay", "relay")
    log = await asyncio.to_thread(coturn.read_text, errors="replace")
    # coturn accepted the server-minted REST usernames "<expiry>:<person>"
    assert re.search(r"username=<\d+:a>", log) or re.search(r"\d+:a", log), log[-3000:]
