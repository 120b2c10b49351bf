"""Protocol state to and from plain JSON, for persistence. Versioned by ``codec``."""

from __future__ import annotations

from typing import Any

from server.domain import ProtocolKind

from .base import Floor, LeadReason, ProtocolConfig, ProtocolState
from .registry import spec_for

CODEC_VERSION = 1


def state_to_json(state: ProtocolState) -> dict[str, Any]:
    return {
        "codec": CODEC_VERSION,
        "protocol": state.protocol.value,
        "config": {
            "durations_s": [[name, seconds] for name, seconds in state.config.durations_s],
            "auto_advance": state.config.auto_advance,
            "floors": [[name, floor] for name, floor in state.config.floors],
            "video_off": list(state.config.video_off),
            "skipped": list(state.config.skipped),
            "format": state.config.format,
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
        "stand_in": state.stand_in,
        "lead_reason": None if state.lead_reason is None else state.lead_reason.value,
        "lead_by": state.lead_by,
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
            # (absent from states saved before issue 15: then none)
            floors=tuple((str(n), str(f)) for n, f in config.get("floors", [])),
            video_off=tuple(str(n) for n in config.get("video_off", [])),
            skipped=tuple(str(n) for n in config.get("skipped", [])),
            format=str(config.get("format", "")),
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
        stand_in=_opt_int(data.get("stand_in")),
        lead_reason=None if data.get("lead_reason") is None else LeadReason(data["lead_reason"]),
        lead_by=_opt_int(data.get("lead_by")),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
