"""From a participant's request (``Act``) to the protocol command it stands for. Pure."""

from __future__ import annotations

from collections.abc import Callable

from server.errors import UserError
from server.protocols import base as pb

from .capabilities import ROLE_CAPABILITIES
from .commands import Act, Verb

# (person_id or None) -> (person_id, role): resolves a target already checked to be in the room
Resolve = Callable[[int | None], tuple[int, pb.Role] | None]


def to_command(c: Act, actor: pb.Actor, resolve: Resolve, first_hand_role: pb.Role) -> pb.Command:
    match c.verb:
        case Verb.ADVANCE:
            return pb.Advance(actor)
        case Verb.BACK:
            return pb.Back(actor)
        case Verb.PAUSE:
            return pb.Pause(actor)
        case Verb.RESUME:
            return pb.Resume(actor)
        case Verb.END:
            return pb.End(actor)
        case Verb.ADJUST:
            if c.seconds is None:
                raise UserError("adjust needs seconds")
            return pb.Adjust(actor, c.seconds)
        case Verb.SET_PRESENTER:
            if c.target is None:
                raise UserError("set_presenter needs person_id")
            target = resolve(c.target)
            assert target is not None
            return pb.SetPresenter(actor, target[0], target[1])
        case Verb.ACCEPT_HAND:
            target = resolve(c.target)
            if target is None:
                return pb.AcceptHand(actor, None, first_hand_role)
            return pb.AcceptHand(actor, target[0], target[1])
        case Verb.CALL_ON:
            target = resolve(c.target)
            return pb.CallOn(actor, None if target is None else target[0], c.clear)
        case Verb.SET_FLOOR:
            if c.floor is None:
                raise UserError("set_floor needs floor")
            return pb.SetFloor(actor, c.floor)
        case Verb.RAISE_HAND:
            return pb.RaiseHand(actor)
        case Verb.HAND_OVER:
            target = resolve(c.target)
            if target is None:
                raise UserError("hand_over needs person_id", field="person_id")
            caps = ROLE_CAPABILITIES[target[1]]
            back = pb.Capability.LEAD in caps  # to a leader: hand back
            eligible = back or pb.Capability.STAND_IN in caps
            return pb.HandOver(actor, target[0], back, eligible)
        case Verb.LOWER_HAND:
            target = resolve(c.target)
            return pb.LowerHand(actor, None if target is None else target[0])
    raise UserError(f"unknown command {c.verb}")  # pragma: no cover
