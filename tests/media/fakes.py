"""aiortc's objects replaced by fakes, for unit tests of the forwarding point (no network)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from server.media import passthrough, sendpath


class FakeOut:
    """Stands in for ``sendpath.RtpOut``: keeps every packet "sent"."""

    def __init__(self, sender: Any) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> bool:
        self.sent.append(data)
        return True


async def _ignore(*_: Any) -> None:
    return None


def install(
    monkeypatch: pytest.MonkeyPatch,
    *,
    send_pli: Callable[[Any, int], Awaitable[None]] = _ignore,
    send_nack: Callable[[Any, int, list[int]], Awaitable[None]] = _ignore,
) -> None:
    monkeypatch.setattr(passthrough, "tap_receiver", lambda *a, **k: None)
    monkeypatch.setattr(passthrough, "send_pli", send_pli)
    monkeypatch.setattr(passthrough, "send_nack", send_nack)
    monkeypatch.setattr(passthrough, "sender_ssrc", lambda sender: 4242)
    monkeypatch.setattr(passthrough, "sender_rtx_ssrc", lambda sender: 4343)
    monkeypatch.setattr(sendpath, "RtpOut", FakeOut)
    monkeypatch.setattr(passthrough, "on_keyframe_request", lambda sender, cb: None)
    monkeypatch.setattr(passthrough, "on_nack", lambda sender, cb: None)
    monkeypatch.setattr(sendpath, "count_sent", lambda *a: None)
    monkeypatch.setattr(passthrough, "on_feedback", lambda *a: None)
