"""Protocol state to and from plain JSON, for persistence. Versioned by ``codec``."""

from __future__ import annotations

from typing import Any

from server.domain import ProtocolKind

from .base import Floor, ProtocolConfig, ProtocolState
from .registry import spec_for

CODEC_VERSION = 1


def state_to_json(state: ProtocolState) -> dict[str, Any]:
    return {
        "codec": CODEC_VERSION,
        "protocol": state.protocol.value,
        "config": {
            "durations_s": [[name, seconds] for name, seconds in state.config.durations_s],
            "auto_advance": state.config.auto_advance,
        },
        "phase": state.phase.value,
        "epoch": state.epoch,
        "phase_started_at_ms": state.phase_started_at_ms,
        "phase_duration_ms": state.phase_duration_ms,
        "paused_at_ms": state.paused_at_ms,
        "paused_ms": state.paused_ms,
        "overrun": state.overrun,
        "presenter_id": state.presenter_id,
        "floor": state.floor.value,
        "hands": list(state.hands),
        "called_on": state.called_on,
        "ended": state.ended,
    }


def state_from_json(data: dict[str, Any]) -> ProtocolState:
    if data.get("codec") != CODEC_VERSION:
        raise ValueError(f"unknown protocol state codec {data.get('codec')!r}")
    kind = ProtocolKind(data["protocol"])
    spec = spec_for(kind)
    config = data["config"]
    return ProtocolState(
        protocol=kind,
        config=ProtocolConfig(
            durations_s=tuple((str(n), int(s)) for n, s in config["durations_s"]),
            auto_advance=bool(config["auto_advance"]),
        ),
        phase=spec.parse_phase(data["phase"]),
        epoch=int(data["epoch"]),
        phase_started_at_ms=int(data["phase_started_at_ms"]),
        phase_duration_ms=_opt_int(data["phase_duration_ms"]),
        paused_at_ms=_opt_int(data["paused_at_ms"]),
        paused_ms=int(data["paused_ms"]),
        overrun=bool(data["overrun"]),
        presenter_id=_opt_int(data["presenter_id"]),
        floor=Floor(data["floor"]),
        hands=tuple(int(h) for h in data["hands"]),
        called_on=_opt_int(data["called_on"]),
        ended=bool(data["ended"]),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
