"""A participant's own microphone and camera switches, checked against the room's rule.

Turning one's own microphone or camera off is always allowed; turning it on needs the
capability the protocol grants in this phase (``speak``, ``show_video``). The media engine
enforces the result by not forwarding: this is only the room's answer to the person.
"""

from __future__ import annotations

from server.errors import ProtocolError
from server.protocols import base as pb

from .participants import Participant


def check_allowed(
    caps: frozenset[pb.Capability], cap: pb.Capability, what: str, command: str, phase: str
) -> None:
    """A ProtocolError naming the phase when ``cap`` is not among ``caps``."""
    if cap not in caps:
        raise ProtocolError(
            f"{what} is off by the group's rule in phase {phase}.", phase=phase, command=command
        )


def set_mic(p: Participant, muted: bool, caps: frozenset[pb.Capability], phase: str) -> bool:
    """Apply the person's own mute; True when it changed."""
    if not muted:
        check_allowed(caps, pb.Capability.SPEAK, "Your microphone", "mic.set", phase)
    changed = p.self_muted != muted
    p.self_muted = muted
    return changed


def set_cam(p: Participant, off: bool, caps: frozenset[pb.Capability], phase: str) -> bool:
    """Apply the person's own camera switch; True when it changed."""
    if not off:
        check_allowed(caps, pb.Capability.SHOW_VIDEO, "Video", "cam.set", phase)
    changed = p.camera_off != off
    p.camera_off = off
    return changed
