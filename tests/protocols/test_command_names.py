"""Each command word is defined once, in the protocol package (``CommandName``): the command
classes, the rooms' verbs, the signaling model and the web client's union all follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.protocols import base as pb
from server.rooms.commands import Act, Verb
from server.rooms.verbs import to_command
from server.signaling.models import ProtocolCommand

TYPES_TS = Path(__file__).resolve().parents[2] / "web_client" / "src" / "protocol" / "types.ts"
HANDS = {pb.CommandName.RAISE_HAND, pb.CommandName.LOWER_HAND}


def _ts_union(name: str) -> set[str]:
    text = TYPES_TS.read_text(encoding="utf-8")
    m = re.search(rf"export type {name}\s*=([^;]*);", text)
    assert m is not None, f"{name} not found in {TYPES_TS}"
    return set(re.findall(r'"([^"]+)"', m.group(1)))


def _person_commands() -> list[type[pb.ActorCommand]]:
    """The commands a person sends: every ActorCommand class of the protocol package."""
    found = [getattr(pb, n) for n in dir(pb)]
    return [
        c
        for c in found
        if isinstance(c, type) and issubclass(c, pb.ActorCommand) and c is not pb.ActorCommand
    ]


def test_every_command_a_person_sends_carries_its_word_and_every_word_a_command() -> None:
    names = [cls.name for cls in _person_commands()]
    assert sorted(names) == sorted(pb.CommandName)
    assert all(isinstance(n, pb.CommandName) for n in names)
    assert set(pb.LEADER_COMMANDS) == set(pb.CommandName) - HANDS


def test_the_rooms_verbs_are_the_command_words() -> None:
    assert Verb is pb.CommandName
    lead = pb.Actor(1, frozenset(pb.Capability))

    def resolve(person_id: int | None) -> tuple[int, pb.Role] | None:
        return None if person_id is None else (person_id, pb.Role.MEMBER)

    for verb in Verb:
        act = Act(person_id=1, sid="s", verb=verb, target=7, seconds=60, floor=pb.Floor.OPEN)
        assert to_command(act, lead, resolve, pb.Role.MEMBER).name == verb


def test_the_signaling_model_takes_exactly_the_leader_commands() -> None:
    for word in pb.LEADER_COMMANDS:
        assert ProtocolCommand.model_validate({"command": word.value}).command is word
    for bad in [*(h.value for h in HANDS), "ADVANCE", "timer", "forget", 1, None]:
        with pytest.raises(ValidationError, match="command"):
            ProtocolCommand.model_validate({"command": bad})
    for floor in pb.Floor:
        assert (
            ProtocolCommand.model_validate({"command": "set_floor", "floor": floor.value}).floor
            is floor
        )
    with pytest.raises(ValidationError, match="floor"):
        ProtocolCommand.model_validate({"command": "set_floor", "floor": "closed"})


def test_the_web_clients_unions_are_the_protocols_words() -> None:
    assert _ts_union("LeaderCommandName") == {c.value for c in pb.LEADER_COMMANDS}
    assert _ts_union("Floor") == {f.value for f in pb.Floor}
