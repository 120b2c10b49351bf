"""Group protocols as pure state machines: phase tables plus one engine. No I/O, no clock."""

from .base import (
    Actor,
    Capability,
    Floor,
    PhaseSpec,
    ProtocolConfig,
    ProtocolSpec,
    ProtocolState,
    Role,
)
from .registry import PROTOCOLS, apply, spec_for

__all__ = [
    "PROTOCOLS",
    "Actor",
    "Capability",
    "Floor",
    "PhaseSpec",
    "ProtocolConfig",
    "ProtocolSpec",
    "ProtocolState",
    "Role",
    "apply",
    "spec_for",
]
