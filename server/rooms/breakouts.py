"""Breakout groups inside one live room (the workshop's small-group case work, seed 004).

The leader splits the room into groups of 2-4 for a timed exercise, by hand (``groups``) or
automatically (``size``: the present members are dealt round-robin into as few groups of at
most that size as keep everyone with company); moves someone (a latecomer, a leader visiting a
group) between groups; and brings everyone back, or the exercise's timer does, or leaving the
case-work phase does. While the room is split, a person's audio and video reach only their own
group; people in no group (leaders, latecomers) hear one another in the main room. That rule is
told to the media engine through the one existing path, the room's gate
(``MediaLink.audiences`` -> ``MediaEngine.set_capabilities(audience=...)``), and enforced where
packets are forwarded.

Everything here runs in the room's owner task. Validation comes first and raises before
anything changes: a bad request changes nothing and the room audits the refusal. The numbers
(group sizes, minutes) are those of ``server/protocols/workshop.py``'s table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.domain import GroupRole
from server.errors import PermissionDenied, ProtocolError, UserError
from server.protocols import workshop
from server.protocols.base import MINUTE_MS, Capability, ProtocolSpec, ProtocolState
from server.protocols.registry import spec_for

from .audits import audit_refusal
from .capabilities import effective
from .commands import ByPerson, RoomCommand
from .participants import Participant, Presence
from .ports import JSON, RoomStore, SessionInfo
from .timers import Timers

log = logging.getLogger("server.rooms.room")

GROUP_MIN = workshop.TABLE["breakout_group"].low
GROUP_MAX = workshop.TABLE["breakout_group"].high
MINUTES_DEFAULT = workshop.TABLE["breakout_minutes"].default
MINUTES_MIN = workshop.TABLE["breakout_minutes"].low
MINUTES_MAX = workshop.TABLE["breakout_minutes"].high
TIMER_KEY = "breakout"


class BreakoutVerb(StrEnum):
    """The wire words of the breakout events (server/signaling/breakout.py)."""

    OPEN = "breakout.open"
    MOVE = "breakout.move"
    CLOSE = "breakout.close"


@dataclass(kw_only=True)
class BreakoutCommand(ByPerson):
    """A leader's breakout request, as received (validated here, in the room's task)."""

    verb: BreakoutVerb
    groups: list[list[int]] | None = None  # open by hand
    size: int | None = None  # open automatically
    minutes: int | None = None
    target: int | None = None  # move: who
    group: int | None = None  # move: to which group (0-based); None: the main room


@dataclass(kw_only=True)
class BreakoutOver(RoomCommand):
    """The exercise's timer fired for ``epoch``."""

    epoch: int


@dataclass(frozen=True, slots=True)
class Split:
    """The room as split now: each group's person ids, and when the exercise ends."""

    groups: tuple[tuple[int, ...], ...]
    started_at_ms: int
    ends_at_ms: int
    epoch: int

    def group_of(self, person_id: int) -> int | None:
        for i, g in enumerate(self.groups):
            if person_id in g:
                return i
        return None

    def to_json(self) -> JSON:
        return {
            "groups": [list(g) for g in self.groups],
            "started_at_ms": self.started_at_ms,
            "ends_at_ms": self.ends_at_ms,
            "epoch": self.epoch,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Split:
        return cls(
            groups=tuple(tuple(int(x) for x in g) for g in data["groups"]),
            started_at_ms=int(data["started_at_ms"]),
            ends_at_ms=int(data["ends_at_ms"]),
            epoch=int(data["epoch"]),
        )


# --- pure planning ---------------------------------------------------------------------------


def check_minutes(minutes: int | None) -> int:
    if minutes is None:
        return MINUTES_DEFAULT
    if isinstance(minutes, bool) or not MINUTES_MIN <= minutes <= MINUTES_MAX:
        raise UserError(
            f"minutes must be between {MINUTES_MIN} and {MINUTES_MAX}, not {minutes}",
            field="minutes",
        )
    return minutes


def check_groups(
    groups: Sequence[Sequence[int]], present: Iterable[int]
) -> tuple[tuple[int, ...], ...]:
    """Groups by hand: each of 2-4 people present in the room, nobody twice."""
    here = set(present)
    if not groups:
        raise UserError("groups must list at least one group", field="groups")
    seen: set[int] = set()
    for i, g in enumerate(groups):
        if not GROUP_MIN <= len(g) <= GROUP_MAX:
            raise UserError(
                f"groups[{i}] has {len(g)} "
                f"{'person' if len(g) == 1 else 'people'}; a breakout group has "
                f"{GROUP_MIN}-{GROUP_MAX}",
                field=f"groups[{i}]",
            )
        for j, pid in enumerate(g):
            if pid not in here:
                raise UserError(
                    f"groups[{i}][{j}]: person {pid} is not in this room",
                    field=f"groups[{i}][{j}]",
                )
            if pid in seen:
                raise UserError(
                    f"groups[{i}][{j}]: person {pid} is in two groups", field=f"groups[{i}][{j}]"
                )
            seen.add(pid)
    return tuple(tuple(g) for g in groups)


def auto_groups(members: Sequence[int], size: int | None) -> tuple[tuple[int, ...], ...]:
    """Deal ``members`` round-robin into as few groups of at most ``size`` as leave nobody
    alone (every group GROUP_MIN or more)."""
    target = GROUP_MAX if size is None else size
    if isinstance(target, bool) or not GROUP_MIN <= target <= GROUP_MAX:
        raise UserError(
            f"size must be between {GROUP_MIN} and {GROUP_MAX}, not {size}", field="size"
        )
    count = len(members)
    if count < GROUP_MIN:
        raise UserError(
            f"size: {count} member(s) present; a breakout group needs {GROUP_MIN}", field="size"
        )
    n_groups = -(-count // target)
    while n_groups > 1 and count // n_groups < GROUP_MIN:
        n_groups -= 1
    dealt: list[list[int]] = [[] for _ in range(n_groups)]
    for i, pid in enumerate(members):
        dealt[i % n_groups].append(pid)
    return tuple(tuple(g) for g in dealt)


def moved(split: Split, person_id: int, group: int | None) -> Split:
    """``person_id`` into ``group`` (None: the main room); refuses a group over GROUP_MAX and
    leaving someone alone in the group moved out of."""
    if group is not None and not 0 <= group < len(split.groups):
        raise UserError(
            f"group must be 0-{len(split.groups) - 1} or null (the main room), not {group}",
            field="group",
        )
    source = split.group_of(person_id)
    if source == group:
        return split
    if group is not None and len(split.groups[group]) >= GROUP_MAX:
        raise UserError(f"group {group} already has {GROUP_MAX} people", field="group")
    if source is not None and len(split.groups[source]) == GROUP_MIN:
        raise UserError(
            f"person_id: moving {person_id} would leave one person alone in group {source}",
            field="person_id",
        )
    groups = [tuple(p for p in g if p != person_id) for g in split.groups]
    if group is not None:
        groups[group] = (*groups[group], person_id)
    return Split(tuple(groups), split.started_at_ms, split.ends_at_ms, split.epoch)


def audiences(split: Split | None, present: Iterable[int]) -> dict[int, frozenset[str]]:
    """Who receives whom while split: a group's members one another; the people in no group
    (the main room) one another. Empty when the room is not split (everyone hears everyone)."""
    if split is None:
        return {}
    here = list(present)
    out: dict[int, frozenset[str]] = {}
    main = [p for p in here if split.group_of(p) is None]
    for g in (*split.groups, tuple(main)):
        names = frozenset(str(p) for p in g)
        for p in g:
            out[p] = names - {str(p)}
    return out


# --- the room's part -------------------------------------------------------------------------


class Breakouts:
    """The breakout state of one room; owned by the room's task. ``participants`` is the room's
    own dict (read, never written); ``restored``: the room's saved state after a restart (its
    split comes back, with its timer)."""

    def __init__(
        self,
        info: SessionInfo,
        participants: Mapping[int, Participant],
        timers: Timers,
        store: RoomStore,
        restored: tuple[int, JSON] | None = None,
    ) -> None:
        self.session_id = info.session_id
        self.spec = spec_for(info.protocol)
        self.participants = participants
        self.timers = timers
        self.store = store
        self.split: Split | None = None
        self.epoch = 0
        raw = None if restored is None else restored[1].get("breakouts")
        if raw:
            self.split = Split.from_json(raw)
            self.epoch = self.split.epoch
            self.timers.start(TIMER_KEY, self.split.ends_at_ms, BreakoutOver(epoch=self.epoch))

    async def on(
        self, c: BreakoutCommand | BreakoutOver, state: ProtocolState, now_ms: int
    ) -> bool:
        """A leader's request or the timer; True if the room changed. A request that cannot
        be applied raises and changes nothing; bad input is audited here (the room audits the
        refusals it knows: forbidden, not in this phase)."""
        if isinstance(c, BreakoutOver):
            return self.timer(c.epoch)
        spec, participants = self.spec, self.participants
        actor = participants.get(c.person_id)
        if actor is None or actor.presence is not Presence.PRESENT or actor.sid != c.sid:
            raise PermissionDenied("You are not in this room.", code="not_in_room")
        caps = effective(spec, state, actor.person_id, actor.group_role)
        if Capability.LEAD not in caps:
            raise PermissionDenied(f"{c.verb.value} needs the lead capability", command=c.verb)
        try:
            self.handle(c, spec, state, participants, now_ms)
        except UserError as exc:
            await audit_refusal(self.store, self.session_id, c, exc, state.phase.value)
            raise
        return True

    def handle(
        self,
        c: BreakoutCommand,
        spec: ProtocolSpec,
        state: ProtocolState,
        participants: Mapping[int, Participant],
        now_ms: int,
    ) -> JSON:
        """Apply a leader's request (capability already checked)."""
        present = [p.person_id for p in participants.values() if p.presence is Presence.PRESENT]
        if c.verb is BreakoutVerb.CLOSE:
            if self.split is None:
                raise self._refuse(state, c, "the room is not split")
            self.close("leader")
            return {}
        if c.verb is BreakoutVerb.MOVE:
            if self.split is None:
                raise self._refuse(state, c, "the room is not split")
            if (
                c.target is None
                or c.target not in participants
                or not participants[c.target].in_room
            ):
                raise UserError(f"person_id: {c.target} is not in this room", field="person_id")
            self.split = moved(self.split, c.target, c.group)
            return {}
        if not workshop.breakouts_allowed(spec, state.phase):
            raise self._refuse(state, c, "breakouts are for the workshop's case-work phases")
        if self.split is not None:
            raise self._refuse(state, c, "the room is already split")
        if state.ended or state.paused:
            raise self._refuse(state, c, "the session is paused or has ended")
        if (c.groups is None) == (c.size is None):
            raise UserError("give either groups (by hand) or size (automatic)", field="groups")
        minutes = check_minutes(c.minutes)
        if c.groups is not None:
            groups = check_groups(c.groups, present)
        else:
            members = [
                p.person_id
                for p in participants.values()
                if p.presence is Presence.PRESENT and p.group_role is GroupRole.MEMBER
            ]
            groups = auto_groups(members, c.size)
        self.epoch += 1
        self.split = Split(groups, now_ms, now_ms + minutes * MINUTE_MS, self.epoch)
        self.timers.start(TIMER_KEY, self.split.ends_at_ms, BreakoutOver(epoch=self.epoch))
        log.info("breakouts: %d groups for %d minutes", len(groups), minutes)
        return {"groups": len(groups)}

    def timer(self, epoch: int) -> bool:
        """The exercise's time is up: everyone back (True if that changed anything)."""
        if self.split is None or self.split.epoch != epoch:
            return False
        self.close("timer")
        return True

    def follow(self, state: ProtocolState) -> dict[int, frozenset[str]]:
        """Before the room gates: a phase without breakouts brings everyone back; people who
        left for good leave their groups. Returns who receives whom (for the media gate)."""
        split, participants = self.split, self.participants
        if split is not None and (
            state.ended or not workshop.breakouts_allowed(self.spec, state.phase)
        ):
            self.close("phase")
        elif split is not None:
            gone = {pid for pid, p in participants.items() if not p.in_room}
            if any(pid in gone for g in split.groups for pid in g):
                groups = tuple(tuple(p for p in g if p not in gone) for g in split.groups)
                self.split = Split(groups, split.started_at_ms, split.ends_at_ms, split.epoch)
        return self.audiences()

    def close(self, why: str) -> None:
        self.split = None
        self.timers.cancel(TIMER_KEY)
        log.info("breakouts closed (%s)", why)

    def audiences(self) -> dict[int, frozenset[str]]:
        present = (p.person_id for p in self.participants.values() if p.in_room)
        return audiences(self.split, present)

    def view(self, state: ProtocolState, now_ms: int) -> JSON:
        """The snapshot's keys: ``breakouts_allowed`` (may the leader split now) and
        ``breakouts`` (null, or the groups and the exercise's end)."""
        allowed = workshop.breakouts_allowed(self.spec, state.phase) and not state.ended
        if self.split is None:
            return {"breakouts_allowed": allowed, "breakouts": None}
        split = {
            "groups": [[str(p) for p in g] for g in self.split.groups],
            "started_at_ms": self.split.started_at_ms,
            "ends_at_ms": self.split.ends_at_ms,
            "remaining_ms": max(0, self.split.ends_at_ms - now_ms),
        }
        return {"breakouts_allowed": allowed, "breakouts": split}

    def stamp(self, data: JSON) -> JSON:
        """Add the split to what the room saves (restored after a restart)."""
        return {**data, "breakouts": None if self.split is None else self.split.to_json()}

    @staticmethod
    def _refuse(state: ProtocolState, c: BreakoutCommand, why: str) -> ProtocolError:
        return ProtocolError(
            f"{c.verb.value} is not possible in phase {state.phase.value}: {why}",
            phase=state.phase.value,
            command=c.verb.value,
        )
