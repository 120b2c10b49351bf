"""Protocol state survives a round trip through JSON (what a server restart reads back)."""

from __future__ import annotations

import json

import pytest

from server.protocols import balint
from server.protocols.base import Adjust, Pause, RaiseHand, Role, SetPresenter
from server.protocols.codec import state_from_json, state_to_json
from server.protocols.engine import apply
from server.protocols.registry import PROTOCOLS

from .helpers import LEADER, MEMBERS, T0, actor


def test_round_trip_of_every_initial_state() -> None:
    for spec in PROTOCOLS.values():
        state = spec.initial(spec.config({"auto_advance": True}), T0)
        assert state_from_json(json.loads(json.dumps(state_to_json(state)))) == state


def test_round_trip_of_a_sit_back_in_progress() -> None:
    spec = balint.SPEC
    s = spec.initial(spec.config({"sitback_minutes": 18}), T0)
    s, _ = apply(spec, s, RaiseHand(actor(spec, s, MEMBERS[1])), T0)
    s, _ = apply(spec, s, SetPresenter(actor(spec, s, LEADER), MEMBERS[0], Role.MEMBER), T0)
    from server.protocols.base import Advance

    for _ in range(3):
        s, _ = apply(spec, s, Advance(actor(spec, s, LEADER)), T0 + 1000)
    s, _ = apply(spec, s, Adjust(actor(spec, s, LEADER), 60), T0 + 2000)
    s, _ = apply(spec, s, Pause(actor(spec, s, LEADER)), T0 + 3000)
    back = state_from_json(json.loads(json.dumps(state_to_json(s))))
    assert back == s and back.phase is balint.Phase.SIT_BACK


def test_unknown_codec_is_refused() -> None:
    data = state_to_json(balint.SPEC.initial(balint.SPEC.config(), T0))
    data["codec"] = 99
    with pytest.raises(ValueError, match="codec"):
        state_from_json(data)
