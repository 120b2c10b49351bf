"""Synthetic media for bots, demos, tests and the benchmark: encoded once, replayed by all.

A bot never encodes: :func:`encode_video` renders a moving test pattern with a name and encodes
it once with VP8 (a key frame every ``gop`` frames, so a newcomer decodes within ``gop/fps``);
:func:`encode_tone` encodes a tone with Opus once. :class:`ReplayTrack` hands those encoded
frames to an aiortc sender as ``av.Packet`` s, paced in real time; aiortc packetizes them with
each sender's own SSRC, sequence numbers and timestamps.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # 20 ms

# A 3x5 bitmap font for names on the test pattern (uppercase, digits, a few signs).
_FONT = {
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011",
    "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "011100101101011", "H": "101101111101101", "I": "111010010010111",
    "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "010101101101010",
    "P": "110101110100100", "Q": "010101101110011", "R": "110101110101101",
    "S": "011100010001110", "T": "111010010010010", "U": "101101101101111",
    "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
    "Y": "101101010010010", "Z": "111001010100111", "0": "111101101101111",
    "1": "010110010010111", "2": "110001010100111", "3": "110001010001110",
    "4": "101101111001001", "5": "111100110001110", "6": "011100111101111",
    "7": "111001010010010", "8": "111101111101111", "9": "111101111001110",
    "-": "000000111000000", " ": "000000000000000", ".": "000000000000010",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class EncodedClip:
    kind: str
    frames: tuple[bytes, ...]
    frame_ticks: int  # RTP clock ticks per frame
    clock_rate: int
    keyframes: tuple[bool, ...]

    @property
    def frame_s(self) -> float:
        return self.frame_ticks / self.clock_rate


def render_pattern(name: str, width: int, height: int, index: int, fps: int) -> np.ndarray:
    """One RGB frame: colour bars, a bar sweeping once per second, the name in blocks."""
    img = np.zeros((height, width, 3), dtype=np.uint8)
    bars = np.array(
        [[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192],
         [192, 0, 0], [0, 0, 192]], dtype=np.uint8)  # fmt: skip
    xs = (np.arange(width) * len(bars) // width).clip(0, len(bars) - 1)
    img[: height * 2 // 3] = bars[xs][None, :, :]
    # a patch of fresh noise every frame keeps the encoder at its target bitrate
    rng = np.random.default_rng(index)
    nh, nw = height // 3, width // 3
    img[:nh, width - nw :] = rng.integers(0, 256, size=(nh, nw, 3), dtype=np.uint8)
    x = int((index % fps) / fps * width)
    img[:, max(0, x - width // 40) : x + width // 40] = 255
    text = name.upper()[:12]
    scale = max(1, min(height // 12, (width - 8) // max(1, 4 * len(text))))
    y0 = height * 2 // 3 + max(1, (height // 3 - 5 * scale) // 2)
    for n, ch in enumerate(text):
        glyph = _FONT.get(ch, _FONT["."])
        for r in range(5):
            for c in range(3):
                if glyph[r * 3 + c] == "1":
                    px = 4 + (n * 4 + c) * scale
                    py = y0 + r * scale
                    img[py : py + scale, px : px + scale] = 255
    return img


def encode_video(
    name: str,
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 30,
    seconds: float = 2.0,
    bitrate: int = 600_000,
    gop: int = 15,
) -> EncodedClip:
    """Encode the moving pattern once with VP8 (CPU cost paid once per process)."""
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = fractions.Fraction(1, fps)
    ctx.framerate = fractions.Fraction(fps, 1)
    ctx.bit_rate = bitrate
    ctx.gop_size = gop
    ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    frames: list[bytes] = []
    keys: list[bool] = []
    count = max(gop, int(seconds * fps) // gop * gop)
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(render_pattern(name, width, height, i, fps), "rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        frame.pict_type = (
            av.video.frame.PictureType.I if i % gop == 0 else av.video.frame.PictureType.NONE
        )
        for pkt in ctx.encode(frame):
            frames.append(bytes(pkt))
            keys.append(bool(pkt.is_keyframe))
    for pkt in ctx.encode(None):
        frames.append(bytes(pkt))
        keys.append(bool(pkt.is_keyframe))
    return EncodedClip("video", tuple(frames), VIDEO_CLOCK // fps, VIDEO_CLOCK, tuple(keys))


def encode_tone(
    *,
    frequency: float = 440.0,
    seconds: float = 1.0,
    level: float = 0.3,
    slot: int = 0,
    slots: int = 1,
) -> EncodedClip:
    """Encode a pulsing tone with Opus. With ``slots`` > 1 the clip lasts ``2 * slots`` seconds
    and the tone sounds only during the two seconds of ``slot`` (silence otherwise), so bots
    with different slots take turns and the speaker highlight moves."""
    if slots > 1:
        seconds = 2.0 * slots
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = AUDIO_RATE
    ctx.layout = "stereo"
    ctx.format = "s16"
    ctx.bit_rate = 32_000
    ctx.time_base = fractions.Fraction(1, AUDIO_RATE)
    frames: list[bytes] = []
    n_frames = int(seconds * AUDIO_RATE / AUDIO_FRAME)
    for i in range(n_frames):
        t = (np.arange(AUDIO_FRAME) + i * AUDIO_FRAME) / AUDIO_RATE
        envelope = 0.6 + 0.4 * np.sin(2 * math.pi * 2 * t)
        if slots > 1 and int(t[0] // 2) % slots != slot % slots:
            envelope = envelope * 0.0
        mono = (level * envelope * np.sin(2 * math.pi * frequency * t) * 32767).astype(np.int16)
        stereo = np.repeat(mono, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = i * AUDIO_FRAME
        for pkt in ctx.encode(frame):
            frames.append(bytes(pkt))
    return EncodedClip("audio", tuple(frames), AUDIO_FRAME, AUDIO_RATE, tuple(True for _ in frames))


class ReplayTrack(MediaStreamTrack):
    """Replays an :class:`EncodedClip` in a loop, in real time, as ``av.Packet`` s."""

    def __init__(self, clip: EncodedClip, *, start_index: int = 0) -> None:
        super().__init__()
        self.kind = clip.kind
        self._clip = clip
        self._index = start_index % len(clip.frames)
        self._count = 0
        self._start: float | None = None
        self._time_base = fractions.Fraction(1, clip.clock_rate)
        self._want_keyframe = False

    def request_keyframe(self) -> None:
        """A PLI from the far end: skip ahead to the clip's next key frame, like an encoder."""
        self._want_keyframe = True

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._count * self._clip.frame_s
        if due > now:
            await asyncio.sleep(due - now)
        if self._want_keyframe:
            self._want_keyframe = False
            keys = self._clip.keyframes
            n = len(keys)
            self._index = next(
                ((self._index + k) % n for k in range(n) if keys[(self._index + k) % n]),
                self._index,
            )
        data = self._clip.frames[self._index]
        packet = av.Packet(data)
        packet.pts = self._count * self._clip.frame_ticks
        packet.time_base = self._time_base
        self._index = (self._index + 1) % len(self._clip.frames)
        self._count += 1
        return packet


def first_keyframe_index(keyframes: Sequence[bool]) -> int:
    return next((i for i, k in enumerate(keyframes) if k), 0)
