"""One validated model per client event. Unknown fields, wrong types and oversized payloads
are refused before anything else runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from server.media.port import TileSize
from server.protocols.base import LEADER_COMMANDS, CommandName, Floor

PROTOCOL_VERSION = 1

PersonId = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,11}$")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    # The largest JSON encoding accepted for this event, in bytes.
    max_bytes: ClassVar[int] = 1024


class Hello(Payload):
    v: int


class AgreementAccept(Payload):
    version: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Empty(Payload):
    pass


class HandLower(Payload):
    person_id: PersonId | None = None  # someone else's hand: leaders only


class MicSet(Payload):
    muted: bool


class CamSet(Payload):
    off: bool


E = TypeVar("E", bound=StrEnum)


def _one_of(enum: type[E], allowed: Sequence[E]) -> Callable[[object], E]:
    """A validator for a wire word of ``enum`` limited to ``allowed`` (plain strings only)."""
    words = ", ".join(repr(w.value) for w in allowed)

    def check(value: object) -> E:
        if isinstance(value, str) and value in allowed:
            return enum(value)
        raise ValueError(f"Input should be one of {words}")

    return check


# The words come from the protocol package (server.protocols.base), not a list of their own.
LeaderCommandWord = Annotated[
    CommandName,
    PlainValidator(_one_of(CommandName, LEADER_COMMANDS)),
    WithJsonSchema({"type": "string", "enum": [c.value for c in LEADER_COMMANDS]}),
]
FloorWord = Annotated[
    Floor,
    PlainValidator(_one_of(Floor, tuple(Floor))),
    WithJsonSchema({"type": "string", "enum": [f.value for f in Floor]}),
]


class ProtocolCommand(Payload):
    command: LeaderCommandWord
    person_id: PersonId | None = None
    seconds: Annotated[int, Field(ge=-3600, le=3600)] | None = None
    floor: FloorWord | None = None
    clear: bool = False


NOTE_MAX_CHARS = 4000


class LeaderNote(Payload):
    # The limit is the characters; the bytes only guard the decoder, and are enough for any
    # text within it (a control character takes 6 bytes of JSON: \u0001).
    max_bytes: ClassVar[int] = 6 * NOTE_MAX_CHARS + 100
    text: Annotated[str, StringConstraints(max_length=NOTE_MAX_CHARS)]


class MediaAnswer(Payload):
    max_bytes: ClassVar[int] = 70_000
    sdp: Annotated[str, StringConstraints(min_length=1, max_length=64_000)]


TileSizeWord = Annotated[
    TileSize,
    PlainValidator(_one_of(TileSize, tuple(TileSize))),
    WithJsonSchema({"type": "string", "enum": [t.value for t in TileSize]}),
]
MAX_VIEW_TILES = 64  # far above a room's size; the view names each remote person once


class TileView(Payload):
    person_id: PersonId
    size: TileSizeWord


class MediaView(Payload):
    """How big the page shows each remote person's tile (``media.view``)."""

    max_bytes: ClassVar[int] = 4096
    tiles: Annotated[list[TileView], Field(min_length=1, max_length=MAX_VIEW_TILES)]

    @field_validator("tiles")
    @classmethod
    def _once_each(cls, tiles: list[TileView]) -> list[TileView]:
        seen: set[str] = set()
        for t in tiles:
            if t.person_id in seen:
                raise ValueError(f"person_id {t.person_id} is named twice")
            seen.add(t.person_id)
        return tiles


class MediaCandidate(Payload):
    max_bytes: ClassVar[int] = 2048
    candidate: Annotated[str, StringConstraints(max_length=1000)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None
