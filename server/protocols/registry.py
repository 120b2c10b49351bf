"""Which module plays which protocol. Adding a protocol is adding a module and a line here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from server.domain import ProtocolKind

from . import balint, coaching, dynamic, engine, peer_support, self_help, workshop
from .base import Command, Effect, ProtocolSpec, ProtocolState

PROTOCOLS: Mapping[ProtocolKind, ProtocolSpec] = MappingProxyType(
    {
        ProtocolKind.BALINT: balint.SPEC,
        ProtocolKind.DYNAMIC: dynamic.SPEC,
        ProtocolKind.PEER_SUPPORT: peer_support.SPEC,
        ProtocolKind.WORKSHOP: workshop.SPEC,
        ProtocolKind.COACHING: coaching.SPEC,
        ProtocolKind.SELF_HELP: self_help.SPEC,
    }
)


def spec_for(kind: ProtocolKind) -> ProtocolSpec:
    return PROTOCOLS[kind]


def apply(
    state: ProtocolState, command: Command, now_ms: int
) -> tuple[ProtocolState, list[Effect]]:
    return engine.apply(PROTOCOLS[state.protocol], state, command, now_ms)
