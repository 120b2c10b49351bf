"""The one engine that applies commands to a protocol state by reading the protocol's table.

``apply(spec, state, command, now_ms) -> (state, effects)`` is pure. A command whose actor lacks
the required capability raises :class:`PermissionDenied`; a command the current phase does not
allow raises :class:`ProtocolError` naming the phase and the command. Either way the caller
keeps the old state.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum

from server.errors import ErrorCode, PermissionDenied, ProtocolError

from .base import (
    MINUTE_MS,
    AcceptHand,
    ActorCommand,
    Adjust,
    Advance,
    Back,
    CallOn,
    Capability,
    Command,
    Effect,
    End,
    Ended,
    Floor,
    Forget,
    HandOver,
    LeadChanged,
    LeaderBack,
    LeadReason,
    LowerHand,
    Overran,
    Pause,
    PhaseChanged,
    PresenterChanged,
    ProtocolSpec,
    ProtocolState,
    RaiseHand,
    ReleaseUnled,
    Resume,
    Role,
    SetFloor,
    SetPresenter,
    StandIn,
    TimerFired,
)

log = logging.getLogger(__name__)

Result = tuple[ProtocolState, list[Effect]]


def _refuse(
    state: ProtocolState, command: Command, why: str, code: ErrorCode | None = None
) -> ProtocolError:
    """``code``: a finer reason than ``protocol`` where the person can act on it (the web
    client words it in their language)."""
    return ProtocolError(
        f"{command.name} is not possible in phase {state.phase.value}: {why}",
        code=code,
        phase=state.phase.value,
        command=command.name,
    )


def _enter(spec: ProtocolSpec, state: ProtocolState, phase: StrEnum, now_ms: int) -> Result:
    """Start ``phase`` afresh: its configured duration, its default floor, no call-on."""
    row = spec.row(phase)
    ended = phase == spec.closed
    new = replace(
        state,
        phase=phase,
        epoch=state.epoch + 1,
        phase_started_at_ms=now_ms,
        phase_duration_ms=state.config.duration_ms(phase),
        paused_at_ms=None,
        paused_ms=0,
        overrun=False,
        floor=state.config.floor(phase) or row.default_floor,
        called_on=None,
        hands=() if ended else state.hands,
        ended=ended,
    )
    log.info("%s phase %s -> %s", spec.kind.value, state.phase.value, phase.value)
    effects: list[Effect] = [PhaseChanged(state.phase, phase)]
    if ended:
        effects.append(Ended())
    return new, effects


def _check_capability(state: ProtocolState, command: Command) -> None:
    if command.required is None:
        return
    assert isinstance(command, ActorCommand)
    if command.required not in command.actor.capabilities:
        raise PermissionDenied(
            f"{command.name} needs the {command.required.value} capability",
            phase=state.phase.value,
            command=command.name,
        )


def _check_presenter_target(
    spec: ProtocolSpec, state: ProtocolState, command: Command, role: Role
) -> None:
    if not spec.uses_presenter:
        raise _refuse(state, command, f"the {spec.kind.value} protocol has no presenter")
    if not spec.row(state.phase).presenter_changeable:
        raise _refuse(
            state,
            command,
            "the presenter is chosen before the presentation ends",
            ErrorCode.PRESENTER_LOCKED,
        )
    if role is not Role.MEMBER and role is not Role.PRESENTER:
        raise _refuse(state, command, "the presenter must be a member of the group")


def _set_presenter(state: ProtocolState, person_id: int) -> Result:
    new = replace(
        state,
        presenter_id=person_id,
        hands=tuple(h for h in state.hands if h != person_id),
        called_on=None if state.called_on == person_id else state.called_on,
    )
    return new, [PresenterChanged(state.presenter_id, person_id)]


def apply(spec: ProtocolSpec, state: ProtocolState, command: Command, now_ms: int) -> Result:
    """Apply ``command`` at ``now_ms``; return the new state and what happened."""
    if state.protocol is not spec.kind:
        raise ValueError(f"state of {state.protocol} given to {spec.kind}")
    _check_capability(state, command)
    system = TimerFired | Forget | LowerHand | StandIn | LeaderBack | ReleaseUnled
    if state.ended and not isinstance(command, system):
        raise _refuse(state, command, "the session has ended")

    match command:
        case Advance():
            target = spec.next(state.phase, state.config.skipped)
            if target is None:  # pragma: no cover - closed is terminal and caught above
                raise _refuse(state, command, "this is the last phase")
            if spec.row(target).requires_presenter and state.presenter_id is None:
                raise _refuse(
                    state, command, "choose a presenter first", ErrorCode.PRESENTER_REQUIRED
                )
            return _enter(spec, state, target, now_ms)

        case Back():
            target = spec.previous(state.phase, state.config.skipped)
            if target is None:
                raise _refuse(state, command, "this is the first phase")
            return _enter(spec, state, target, now_ms)

        case End():
            return _enter(spec, state, spec.closed, now_ms)

        case Pause():
            if state.phase_duration_ms is None:
                raise _refuse(state, command, "this phase has no timer")
            if state.paused_at_ms is not None:
                raise _refuse(state, command, "already paused")
            return replace(state, paused_at_ms=now_ms, epoch=state.epoch + 1), []

        case Resume():
            if state.paused_at_ms is None:
                raise _refuse(state, command, "not paused")
            paused = state.paused_ms + max(0, now_ms - state.paused_at_ms)
            return replace(state, paused_at_ms=None, paused_ms=paused, epoch=state.epoch + 1), []

        case Adjust(seconds=seconds):
            row = spec.row(state.phase)
            if state.phase_duration_ms is None or row.min_min is None or row.max_min is None:
                raise _refuse(state, command, "this phase has no timer")
            duration = state.phase_duration_ms + seconds * 1000
            if not row.min_min * MINUTE_MS <= duration <= row.max_min * MINUTE_MS:
                raise _refuse(
                    state,
                    command,
                    f"it may last {row.min_min} to {row.max_min} minutes "
                    f"({duration / MINUTE_MS:g} asked)",
                )
            new = replace(state, phase_duration_ms=duration, epoch=state.epoch + 1)
            deadline = new.deadline_ms()
            overrun = state.overrun and (deadline is None or now_ms >= deadline)
            return replace(new, overrun=overrun), []

        case SetPresenter(person_id=person_id, target_role=role):
            _check_presenter_target(spec, state, command, role)
            return _set_presenter(state, person_id)

        case AcceptHand(person_id=person_id, target_role=role):
            _check_presenter_target(spec, state, command, role)
            if person_id is None:
                if not state.hands:
                    raise _refuse(state, command, "no hand is raised")
                person_id = state.hands[0]
            elif person_id not in state.hands:
                raise _refuse(state, command, "that person has not raised a hand")
            return _set_presenter(state, person_id)

        case CallOn(person_id=person_id, clear=clear):
            if clear:
                return replace(state, called_on=None), []
            if person_id is None:
                if not state.hands:
                    raise _refuse(state, command, "no hand is raised")
                person_id = state.hands[0]
            hands = tuple(h for h in state.hands if h != person_id)
            return replace(state, called_on=person_id, hands=hands), []

        case SetFloor(floor=floor):
            if not spec.row(state.phase).floor_roles:
                raise _refuse(state, command, "nobody speaks by the floor in this phase")
            return replace(state, floor=floor, called_on=None), []

        case RaiseHand(actor=actor):
            if actor.person_id in state.hands:
                raise _refuse(state, command, "your hand is already raised")
            return replace(state, hands=(*state.hands, actor.person_id)), []

        case LowerHand(actor=actor, person_id=person_id):
            who = actor.person_id if person_id is None else person_id
            if who != actor.person_id and Capability.MODERATE not in actor.capabilities:
                raise PermissionDenied(
                    "lowering someone else's hand needs the moderate capability",
                    phase=state.phase.value,
                    command=command.name,
                )
            if who not in state.hands:
                raise _refuse(state, command, "that hand is not raised")
            return replace(state, hands=tuple(h for h in state.hands if h != who)), []

        case TimerFired(epoch=epoch):
            deadline = state.deadline_ms()
            if epoch != state.epoch or deadline is None or now_ms < deadline or state.overrun:
                return state, []  # stale or early: nothing to do
            target = spec.next(state.phase, state.config.skipped)
            if (
                state.config.auto_advance
                and target is not None
                and not (spec.row(target).requires_presenter and state.presenter_id is None)
            ):
                return _enter(spec, state, target, now_ms)
            return replace(state, overrun=True), [Overran(state.phase)]

        case HandOver() | StandIn() | LeaderBack():
            return _lead(state, command)

        case ReleaseUnled(epoch=epoch):
            return _release_unled(spec, state, epoch, now_ms)

        case Forget(person_id=person_id):
            return (
                replace(
                    state,
                    hands=tuple(h for h in state.hands if h != person_id),
                    called_on=None if state.called_on == person_id else state.called_on,
                ),
                [],
            )

    raise _refuse(state, command, "unknown command")  # pragma: no cover


def _lead(state: ProtocolState, command: HandOver | StandIn | LeaderBack) -> Result:
    """Who leads: a co-leader standing in for the leader, or the leader (no stand-in)."""
    match command:
        case HandOver(actor=actor, person_id=person_id, back=back, eligible=eligible):
            if not eligible:
                raise _refuse(state, command, "that person cannot lead this group")
            if back:
                if state.stand_in is None:
                    raise _refuse(state, command, "the leader leads already")
                new = replace(state, stand_in=None, lead_reason=None, lead_by=actor.person_id)
            else:
                if person_id == state.stand_in:
                    raise _refuse(state, command, "that co-leader leads already")
                new = replace(
                    state,
                    stand_in=person_id,
                    lead_reason=LeadReason.HANDED_OVER,
                    lead_by=actor.person_id,
                )
        case StandIn(person_id=person_id):
            new = replace(
                state, stand_in=person_id, lead_reason=LeadReason.LEADER_LOST, lead_by=None
            )
        case LeaderBack():
            new = replace(state, stand_in=None, lead_reason=None, lead_by=None)
    if new.stand_in == state.stand_in and new.lead_reason == state.lead_reason:
        return state, []
    log.info("%s lead: stand-in %s -> %s", state.protocol.value, state.stand_in, new.stand_in)
    return new, [LeadChanged(new.stand_in, new.lead_reason)]


def _release_unled(spec: ProtocolSpec, state: ProtocolState, epoch: int, now_ms: int) -> Result:
    """Nobody who can lead is present: a phase that ends unled ends at its maximum (a pause
    nobody can lift counts as running time), and the next phase opens its floor."""
    row = spec.row(state.phase)
    if state.ended or epoch != state.epoch or not row.ends_unled or row.max_min is None:
        return state, []
    if now_ms < state.phase_started_at_ms + state.paused_ms + row.max_min * MINUTE_MS:
        return state, []
    target = spec.next(state.phase, state.config.skipped)
    assert target is not None
    new, effects = _enter(spec, state, target, now_ms)
    if spec.row(target).floor_roles:
        new = replace(new, floor=Floor.OPEN)  # nobody is there to call on anyone
    return new, effects
