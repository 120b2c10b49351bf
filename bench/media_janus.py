"""The Janus column of bench/media.py: Debian's Janus (VideoRoom plugin, plain HTTP API) under
the same bots, clip and CPU pinning as our SFU, measured in the same run.

Janus is only a benchmark reference here (never a dependency of the product). Each bot
publishes through one peer connection (the bot offers, Janus answers: Janus's publishers must
offer) and subscribes to the room's other eleven feeds through one multistream subscriber
connection (Janus offers, the bot answers), the way Janus's own demo does it. Janus has no
counter of forwarded packets over its plain API, so the forwarded rate is the sequence-number
span the bots saw on each stream Janus numbered (what it sent, whether it arrived or not).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

from bench._host import cpu_seconds, host_cpu, host_figures, pin
from bench.media_receivers import StreamCounter, count_only, stream_figures
from bench.media_sfu import ask
from server.bots.synthetic import EncodedClip, ReplayTrack
from server.media import passthrough
from server.media.ice import rtc_configuration
from server.media.participant import prefer_codec
from server.media.shard import PipeWriter

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
HTTP_PORT = 18088
# libnice never offers a loopback candidate, so Janus gets an interface of its own (one end of a
# veth pair) inside the benchmark's private network namespace: traffic never leaves it.
IFACE, PEER, ADDRESS = "hcjanus0", "hcjanus1", "10.99.0.1"


def unavailable() -> str | None:
    """Why the Janus column cannot run here, or None."""
    if shutil.which("janus") is None:
        return "janus is not installed (bash bench/setup.sh installs it, as root)"
    for lib in (LIB / "plugins" / "libjanus_videoroom.so", LIB / "transports" / "libjanus_http.so"):
        if not lib.exists():
            return f"{lib} is missing"
    return None


def _config(folder: Path) -> Path:
    """A minimal Janus: the VideoRoom plugin and the plain HTTP transport only, logging off,
    ICE on loopback (the bench runs in a network namespace with only ``lo``)."""
    plugins = folder / "plugins"
    transports = folder / "transports"
    plugins.mkdir()
    transports.mkdir()
    (folder / "none").mkdir()
    (plugins / "libjanus_videoroom.so").symlink_to(LIB / "plugins" / "libjanus_videoroom.so")
    (transports / "libjanus_http.so").symlink_to(LIB / "transports" / "libjanus_http.so")
    (folder / "janus.jcfg").write_text(
        "general: {\n"
        f'  configs_folder = "{folder}"\n'
        f'  plugins_folder = "{plugins}"\n'
        f'  transports_folder = "{transports}"\n'
        f'  events_folder = "{folder / "none"}"\n'
        f'  loggers_folder = "{folder / "none"}"\n'
        "  debug_level = 2\n"
        "  session_timeout = 120\n"
        "}\n"
        'media: { rtp_port_range = "30000-39999" }\n'
        f'nat: {{ nice_debug = false\n  ice_enforce_list = "{IFACE}"\n}}\n'
        "plugins: {}\ntransports: {}\nloggers: {}\nevents: {}\n"
    )
    (folder / "janus.transport.http.jcfg").write_text(
        'general: {\n  json = "plain"\n  base_path = "/janus"\n  http = true\n'
        f'  port = {HTTP_PORT}\n  ip = "127.0.0.1"\n  https = false\n}}\n'
        "admin: { admin_http = false }\n"
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {}\n")
    return folder / "janus.jcfg"


def add_interface() -> None:
    """The dummy interface Janus gathers on; only inside the benchmark's own namespace."""
    if subprocess.run(["ip", "addr", "show", IFACE], capture_output=True).returncode == 0:
        return
    for cmd in (
        ["ip", "link", "add", IFACE, "type", "veth", "peer", "name", PEER],
        ["ip", "addr", "add", f"{ADDRESS}/24", "dev", IFACE],
        ["ip", "link", "set", IFACE, "up"],
        ["ip", "link", "set", PEER, "up"],
    ):
        subprocess.run(cmd, check=True)


class JanusServer:
    """The janus process, pinned to ``cpu`` like our SFU's process."""

    def __init__(self, cpu: int) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="bench-janus-"))
        conf = _config(self._dir)
        self.log = self._dir / "janus.log"
        self.proc = subprocess.Popen(
            ["janus", "-C", str(conf), "-F", str(self._dir), "-L", str(self.log), "-N"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: pin(cpu),
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{HTTP_PORT}/janus"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 20) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"janus exited ({self.proc.returncode}); see {self.log}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.url + "/info", timeout=1).read()
                return
            time.sleep(0.2)
        raise TimeoutError("janus did not answer on its HTTP port")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if os.environ.get("HC_BENCH_KEEP_JANUS") != "1":
            shutil.rmtree(self._dir, ignore_errors=True)


# --- the Janus HTTP API, one session per bot ---------------------------------------------------
class JanusSession:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url
        self.id = 0
        self._events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"transaction": uuid.uuid4().hex, **body}
        async with self._http.post(self._url + path, json=body) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus: {reply['error']}")
        return reply

    async def create(self) -> None:
        self.id = (await self._post("", {"janus": "create"}))["data"]["id"]
        self._poller = asyncio.create_task(self._poll())

    async def attach(self) -> int:
        reply = await self._post(
            f"/{self.id}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        handle: int = reply["data"]["id"]
        self._events[handle] = asyncio.Queue()
        return handle

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, listparticipants)."""
        reply = await self._post(f"/{self.id}/{handle}", {"janus": "message", "body": body})
        data: dict[str, Any] = reply["plugindata"]["data"]
        return data

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An asynchronous plugin request: its answer is the event on the long poll that
        carries the request's transaction (other events, such as new publishers, are not)."""
        transaction = uuid.uuid4().hex
        msg: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            msg["jsep"] = jsep
        await self._post(f"/{self.id}/{handle}", msg)
        deadline = time.monotonic() + 30
        while True:
            left = deadline - time.monotonic()
            ev = await asyncio.wait_for(self._events[handle].get(), max(0.01, left))
            if ev.get("transaction") != transaction:
                continue
            data = ev.get("plugindata", {}).get("data", {})
            if "error" in data:
                raise RuntimeError(f"janus: {data['error']}")
            return ev

    async def _poll(self) -> None:
        while True:
            try:
                async with self._http.get(f"{self._url}/{self.id}?maxev=10") as resp:
                    events = await resp.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.2)
                continue
            for ev in events if isinstance(events, list) else [events]:
                if ev.get("janus") == "event" and ev.get("sender") in self._events:
                    self._events[ev["sender"]].put_nowait(ev)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller


class JanusBot:
    """One participant: a publisher connection and a multistream subscriber connection."""

    def __init__(
        self, room: int, name: str, clips: tuple[EncodedClip, EncodedClip], index: int
    ) -> None:
        self.room = room
        self.name = name
        video, audio = clips
        self.tracks = (ReplayTrack(audio, start_index=index), ReplayTrack(video, start_index=index))
        self.pub = RTCPeerConnection(rtc_configuration([], relay_only=False))
        self.sub = RTCPeerConnection(rtc_configuration([], relay_only=False))
        self.feed = 0
        self.video_pt: set[int] = set()
        self.subscribed = 0

    async def publish(self, js: JanusSession) -> None:
        handle = await js.attach()
        for track in self.tracks:
            transceiver = self.pub.addTransceiver(track, direction="sendonly")
            prefer_codec(transceiver)
            passthrough.on_keyframe_request(transceiver.sender, track.request_keyframe)
        passthrough.gather_on(self.pub, [ADDRESS])
        await self.pub.setLocalDescription(await self.pub.createOffer())
        body = {"request": "joinandconfigure", "room": self.room, "ptype": "publisher",
                "display": self.name, "audio": True, "video": True}  # fmt: skip
        jsep = {"type": "offer", "sdp": self.pub.localDescription.sdp, "trickle": False}
        ev = await js.message(handle, body, jsep)
        self.feed = ev["plugindata"]["data"]["id"]
        answer = ev["jsep"]
        await self.pub.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def subscribe(self, js: JanusSession, feeds: list[int]) -> None:
        handle = await js.attach()
        body = {"request": "join", "room": self.room, "ptype": "subscriber",
                "streams": [{"feed": f} for f in feeds]}  # fmt: skip
        ev = await js.message(handle, body)
        offer = ev["jsep"]["sdp"]
        self.video_pt = {int(pt) for pt in re.findall(r"a=rtpmap:(\d+) VP8/90000", offer)}
        await self.sub.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        passthrough.gather_on(self.sub, [ADDRESS])
        await self.sub.setLocalDescription(await self.sub.createAnswer())
        jsep = {"type": "answer", "sdp": self.sub.localDescription.sdp, "trickle": False}
        await js.message(handle, {"request": "start", "room": self.room}, jsep)
        passthrough.enlarge_socket_buffers(self.sub, 1 << 20)
        self.subscribed = len(feeds)

    def connected(self) -> bool:
        return self.pub.connectionState == "connected" and self.sub.connectionState == "connected"

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        await self.pub.close()
        await self.sub.close()


async def _janus_generate(control: Connection, url: str, bots: list[tuple[int, str, int]],
                          participants: int, clips: tuple[EncodedClip, EncodedClip]) -> None:  # fmt: skip
    """A load generator for Janus: the same control messages as bench/media.py's generators."""

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    to_main = PipeWriter(control)
    to_main.start()
    loop.add_reader(control.fileno(), lambda: inbox.put_nowait(control.recv()))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        sessions: list[JanusSession] = []
        live: list[JanusBot] = []
        counters: dict[str, dict[int, StreamCounter]] = {}
        for room, name, index in bots:
            js = JanusSession(http, url)
            await js.create()
            sessions.append(js)
            bot = JanusBot(room, name, clips, index)
            await bot.publish(js)
            live.append(bot)
        # subscribe once every publisher of the room is in
        admin = sessions[0]
        handle = await admin.attach()
        for bot, js in zip(live, sessions, strict=True):
            while True:
                found = await admin.request(
                    handle, {"request": "listparticipants", "room": bot.room}
                )
                feeds = [p["id"] for p in found.get("participants", []) if p.get("publisher")]
                if len(feeds) >= participants:
                    break
                await asyncio.sleep(0.2)
            await bot.subscribe(js, [f for f in feeds if f != bot.feed])
        while True:
            msg = await inbox.get()
            op = msg[0]
            if op == "status":
                for bot in live:
                    per = counters.setdefault(bot.name, {})
                    count_only(_Sub(bot.sub), per, bot.video_pt)
                to_main.send(("status", sum(b.connected() for b in live)))
            elif op == "counters":
                streams = {
                    f"{name}/{ssrc}": (c.kind, c.packets, c.frames, c.expected())
                    for name, per in counters.items()
                    for ssrc, c in per.items()
                }
                to_main.send(("counters", streams, []))
            elif op == "quit":
                break
        loop.remove_reader(control.fileno())
        for bot in live:
            await bot.close()
        for js in sessions:
            await js.close()
    await to_main.stop()


class _Sub:
    """What count_only() needs of a client: its peer connection."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc


def janus_gen_entry(control: Connection, url: str, bots: list[tuple[int, str, int]],
                    participants: int, clips: tuple[EncodedClip, EncodedClip],
                    cpu: int | None) -> None:  # fmt: skip
    pin(cpu)
    asyncio.run(_janus_generate(control, url, bots, participants, clips))


def create_rooms(url: str, rooms: int, participants: int) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as http:
            js = JanusSession(http, url)
            await js.create()
            handle = await js.attach()
            for r in range(rooms):
                await js.request(handle, {"request": "create", "room": 1000 + r,
                                          "publishers": participants, "bitrate": 0,
                                          "videocodec": "vp8", "audiocodec": "opus",
                                          "notify_joining": False, "audiolevel_event": False})  # fmt: skip
            await js.close()

    asyncio.run(go())


def janus_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["janus", "--version"], capture_output=True, text=True, timeout=10
        ).stdout
        found = re.search(r"\(([\d.]+)\)", out)
        if found:
            return found.group(1)
    return "?"


JANUS_VERSION = janus_version() if shutil.which("janus") else "?"


def run_janus(rooms: int, participants: int, clips: tuple[EncodedClip, EncodedClip],
              warmup: float, seconds: float, generators: int,
              gen_cpu: int | None) -> dict[str, Any]:  # fmt: skip
    """The same load and window as ``bench.media_sfu.run`` gives our SFU, against Janus."""
    add_interface()
    server = JanusServer(cpu=0)
    gens: list[Any] = []
    ctl: list[Connection] = []
    try:
        server.wait_ready()
        create_rooms(server.url, rooms, participants)
        ctx = mp.get_context("fork")
        bots: list[list[tuple[int, str, int]]] = [[] for _ in range(generators)]
        n = 0
        for r in range(rooms):
            for i in range(participants):
                bots[n % generators].append((1000 + r, f"room{r}-b{i:02d}", n * 7))
                n += 1
        for g in range(generators):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=janus_gen_entry,
                args=(theirs, server.url, bots[g], participants, clips, gen_cpu),
            )
            proc.start()
            gens.append(proc)
            ctl.append(mine)
        total = rooms * participants
        deadline = time.monotonic() + 90
        while True:
            connected = sum(ask(c, ("status",), 90)[1] for c in ctl)
            if connected == total:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {connected}/{total} Janus bots connected")
            time.sleep(0.5)
        time.sleep(warmup)
        for c in ctl:
            ask(c, ("status",))

        def snapshot() -> tuple[float, float, dict[str, Any]]:
            t = time.monotonic()
            cpu = cpu_seconds(server.pid)
            streams: dict[str, Any] = {}
            for c in ctl:
                streams.update(ask(c, ("counters",))[1])
            return t, cpu, streams

        host0 = host_cpu()
        t0, cpu0, st0 = snapshot()
        time.sleep(seconds)
        t1, cpu1, st1 = snapshot()
        host = host_figures(host0, host_cpu())
    finally:
        for c in ctl:
            with contextlib.suppress(Exception):
                c.send(("quit",))
        for p in gens:
            p.join(15)
            if p.is_alive():
                p.kill()
        server.stop()
    window = t1 - t0
    figures = stream_figures(st0, st1, window)
    # Janus numbers each subscriber stream itself: the sequence span the bots saw is what Janus
    # sent (received or lost on the way), the fair counterpart of our SFU's forwarded counter.
    sent = figures["expected_pps"] * window
    cpu = cpu1 - cpu0
    return {
        "mode": "janus",
        "window_s": window,
        "forwarded_pps": figures["expected_pps"],
        "server_cpu_pct": 100 * cpu / window,
        "us_per_packet": 1e6 * cpu / sent if sent else float("inf"),
        **figures,
        **host,
    }
