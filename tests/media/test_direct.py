"""The receive shortcut (server/media/direct.py): once connected, publisher media reaches the
forwarding point from the socket's ``datagram_received``, not through aiortc's receive tasks;
and the room still gets everything."""

from __future__ import annotations

from typing import cast

import pytest

from server.media import passthrough
from server.media.ice import IceSettings
from server.media.sendpath import RtpOut
from server.media.sfu import SfuSettings
from tests.media.harness import ROOM, Clips, Harness, wait_until

pytestmark = pytest.mark.media


@pytest.mark.parametrize(
    ("udp_port", "connected"),
    [(0, True), (0, False), (None, False)],
    ids=["shared-port-connected", "shared-socket", "socket-per-connection"],
)
async def test_publisher_media_takes_the_direct_path(
    clips: Clips, udp_port: int | None, connected: bool
) -> None:
    settings = SfuSettings(ice=IceSettings.loopback(), udp_port=udp_port, connected_sends=connected)
    async with Harness(clips, settings) as h:
        pids = ["p00", "p01", "p02"]
        for i, pid in enumerate(pids):
            await h.join(pid, start_index=i)
        await h.wait_connected(45)
        await wait_until(
            lambda: all(
                h.clients[me].frames_from(other, kind) >= 20
                for me in pids
                for other in pids
                if other != me
                for kind in ("audio", "video")
            ),
            45,
            "20 frames of each other publisher",
        )
        room = h.engine._rooms[ROOM]
        for pid in pids:
            for kind, up in room.participants[pid].up.items():
                # all but a stream's first packets (before aiortc's router knew its SSRC)
                assert up.received_direct > 0.9 * up.received, (pid, kind, up.received)
        ports = {
            protocol.local_candidate.port
            for p in room.participants.values()
            for conn in passthrough.connections(p.pc)
            for protocol in conn._protocols
        }
        sockets = h.engine.host_sockets
        if udp_port is None:
            assert sockets is None and len(ports) == len(pids)  # a socket each
            assert h.engine.socket_stats() == ()  # no shared socket: nothing to count
        else:
            assert sockets is not None and ports == {sockets.port}  # one port for the room
            counters = sockets.counters()
            assert counters["received"] > 0 and counters["sent"] > 0
            assert counters["unknown"] == 0 and counters["dropped"] == 0
            # what the port reads: the same counters, as worker 0
            (shared,) = h.engine.socket_stats()
            read = (shared.received, shared.unknown, shared.filtered, shared.send_dropped)
            assert shared.worker == 0
            assert read == tuple(
                counters[k] for k in ("received", "unknown", "filtered", "dropped")
            )
            # with connected sends every copy leaves through its remote's own socket
            assert counters["peers"] == (len(pids) if connected else 0)
            outs = [  # unlayered video is never paced: each an RtpOut
                cast(RtpOut, d.out)
                for p in room.participants.values()
                for u in p.up.values()
                for d in u.downs
            ]
            assert outs and all((o._addr is None) is connected for o in outs)
