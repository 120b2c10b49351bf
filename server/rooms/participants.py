"""Who is in a room, how they are persisted, and the snapshot every client receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.domain import GroupRole
from server.media.port import SignalSender
from server.protocols.base import Capability, ProtocolSpec, ProtocolState
from server.protocols.codec import state_from_json, state_to_json

from .capabilities import effective, session_role
from .ports import JSON, SessionInfo


class Presence(StrEnum):
    PRESENT = "present"
    RECONNECTING = "reconnecting"  # disconnected, place kept for the grace period
    LEFT = "left"


@dataclass(slots=True)
class Participant:
    """One person in one room. Owned and mutated by the room's task only."""

    person_id: int
    display_name: str
    group_role: GroupRole
    presence: Presence = Presence.PRESENT
    self_muted: bool = False
    camera_off: bool = False
    sid: str | None = None  # the live connection, if any
    grace_token: int = 0  # bumps on every disconnect, so an old grace timer is ignored
    # last (may_speak, may_show_video, audience) told to media
    media_sent: tuple[bool, bool, frozenset[str] | None] | None = None
    sender: SignalSender | None = field(default=None, repr=False)  # media events, while present
    media_restarts: list[int] = field(default_factory=list)  # ms of recent media re-adds
    hosting: bool = False  # hosts this session of a peer-led group (SessionInfo.host_id)

    @property
    def in_room(self) -> bool:
        return self.presence is not Presence.LEFT

    def to_json(self) -> JSON:
        return {
            "person_id": self.person_id,
            "display_name": self.display_name,
            "group_role": self.group_role.value,
            "presence": self.presence.value,
            "self_muted": self.self_muted,
            "camera_off": self.camera_off,
            "hosting": self.hosting,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Participant:
        return cls(
            person_id=int(data["person_id"]),
            display_name=str(data["display_name"]),
            group_role=GroupRole(data["group_role"]),
            presence=Presence(data["presence"]),
            self_muted=bool(data["self_muted"]),
            camera_off=bool(data["camera_off"]),
            hosting=bool(data.get("hosting", False)),
        )


ROOM_CODEC = 1


def persisted(
    state: ProtocolState, participants: dict[int, Participant], note_version: int
) -> JSON:
    """What a room saves: its protocol state and participants (restored after a restart)."""
    return {
        "room_codec": ROOM_CODEC,
        "protocol": state_to_json(state),
        "participants": [p.to_json() for p in participants.values()],
        "note_version": note_version,
    }


def restored(data: JSON) -> tuple[ProtocolState, dict[int, Participant], int]:
    """The protocol state, participants and note version of a saved room."""
    if data.get("room_codec") != ROOM_CODEC:
        raise ValueError(f"unknown room state codec {data.get('room_codec')!r}")
    people = (Participant.from_json(item) for item in data["participants"])
    return (
        state_from_json(data["protocol"]),
        {p.person_id: p for p in people},
        int(data.get("note_version", 0)),
    )


def media_rights(spec: ProtocolSpec, state: ProtocolState, p: Participant) -> tuple[bool, bool]:
    """What the media engine forwards for ``p``: the rule's rights, less their own mute."""
    caps = effective(spec, state, p.person_id, p.group_role, hosting=p.hosting)
    return (
        Capability.SPEAK in caps and not p.self_muted,
        Capability.SHOW_VIDEO in caps and not p.camera_off,
    )


def snapshot(
    *,
    version: int,
    now_ms: int,
    info: SessionInfo,
    spec: ProtocolSpec,
    state: ProtocolState,
    participants: dict[int, Participant],
) -> JSON:
    """The full room state as every client sees it (the same payload for all: one encode)."""
    hands = set(state.hands)
    people = []
    for p in participants.values():
        caps = effective(spec, state, p.person_id, p.group_role, hosting=p.hosting)
        people.append(
            {
                "person_id": str(p.person_id),
                "display_name": p.display_name,
                "role": session_role(state, p.person_id, p.group_role).value,
                "presence": p.presence.value,
                "muted_by_rule": Capability.SPEAK not in caps,
                "self_muted": p.self_muted,
                "camera_off": p.camera_off,
                "hand_raised": p.person_id in hands,
                "hosting": p.hosting,
                "capabilities": sorted(c.value for c in caps),
            }
        )
    deadline = state.deadline_ms()
    return {
        "version": version,
        "server_time_ms": now_ms,
        "session_id": str(info.session_id),
        "protocol": spec.kind.value,
        "phases": [r.phase.value for r in spec.phases if r.phase not in state.config.skipped],
        "phase": state.phase.value,
        "phase_started_at_ms": state.phase_started_at_ms,
        "phase_duration_ms": state.phase_duration_ms,
        "phase_ends_at_ms": deadline,
        "remaining_ms": state.remaining_ms(now_ms),
        "paused": state.paused,
        "overrun": state.overrun,
        "auto_advance": state.config.auto_advance,
        "presenter_id": None if state.presenter_id is None else str(state.presenter_id),
        "floor": state.floor.value,
        "called_on": None if state.called_on is None else str(state.called_on),
        "hands": [str(h) for h in state.hands],
        "participants": people,
        "capacity": info.capacity,
        "ended": state.ended,
        "stand_in": None if state.stand_in is None else str(state.stand_in),
        "lead_reason": None if state.lead_reason is None else state.lead_reason.value,
    }
