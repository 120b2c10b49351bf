"""Leader continuity: the group keeps a leader when the leader's device dies, and nobody stays
cut off because of it.

Seed 001's Balint groups had a leader, a co-leader and two psychologist co-leaders. The room
asks :meth:`Continuity.review` after every command which protocol commands continuity wants
applied now, and :meth:`Continuity.announce` after every committed change:

* **Takeover.** When no one present holds ``lead`` by their role (the leader's connection lost
  or left) for longer than the group's ``takeover_seconds`` (default 30), the first present
  person holding ``stand_in`` (a co-leader; lowest person id) stands in: they get ``lead``
  (``ProtocolState.stand_in``). A leader may also hand over explicitly (``hand_over``).
* **Return.** When a leader is present again after being away, the stand-in ends: the leader
  leads (also after an explicit handover, once the leader has been away and come back; or at
  once with ``hand_over`` to the leader).
* **Safety.** When nobody present holds ``lead`` at all, a phase that ``ends_unled`` (Balint's
  sit-back) ends at its maximum length and the presenter's microphone comes back.
* Every change of who leads reaches everyone as ``room.lead`` ``{stand_in, reason, by}`` (also
  in the snapshot) and is audited (``room.lead``).

Pure decisions on the room's state, plus the room's keyed timers; capabilities, not roles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from server.domain import AuditOutcome
from server.protocols import base as pb
from server.protocols.base import MINUTE_MS, Capability, ProtocolSpec, ProtocolState

from .capabilities import effective
from .commands import Ping
from .participants import Participant, Presence
from .ports import RoomBroadcaster, RoomStore, SessionInfo
from .timers import Timers

log = logging.getLogger(__name__)

TAKEOVER_KEY = "continuity-takeover"
UNLED_KEY = "continuity-unled"


@dataclass(kw_only=True)
class LeadDue(Ping):
    """A continuity timer came due. Like a ``Ping`` it changes nothing itself: the review that
    follows every command does the work."""


class Continuity:
    def __init__(
        self,
        spec: ProtocolSpec,
        state: ProtocolState,
        info: SessionInfo,
        timers: Timers,
        store: RoomStore,
        out: RoomBroadcaster,
    ) -> None:
        self._spec = spec
        self._session_id = info.session_id
        known = {k: v for k, v in info.settings.items() if k == "takeover_seconds"}
        takeover = spec.setting(spec.check_settings(known), "takeover_seconds")
        assert isinstance(takeover, int)
        self._takeover_ms = takeover * 1000
        self._timers = timers
        self._store = store
        self._out = out
        self._lost_since: int | None = None  # since when nobody present leads
        self._leader_away = False  # a leader was away while someone stood in
        self._told = (state.stand_in, state.lead_reason)
        self._armed: dict[str, int] = {}

    def _caps(self, state: ProtocolState, p: Participant) -> frozenset[Capability]:
        return effective(self._spec, state, p.person_id, p.group_role)

    def review(
        self, state: ProtocolState, participants: dict[int, Participant], now_ms: int
    ) -> list[pb.Command]:
        """The system commands continuity wants applied now; (re)arms its timers."""
        if state.ended:
            self._disarm(TAKEOVER_KEY)
            self._disarm(UNLED_KEY)
            return []
        present = [p for p in participants.values() if p.presence is Presence.PRESENT]
        by_role = replace(state, stand_in=None, lead_reason=None)
        leader_present = any(Capability.LEAD in self._caps(by_role, p) for p in present)
        stand_in = participants.get(state.stand_in) if state.stand_in is not None else None
        stand_in_present = stand_in is not None and stand_in.presence is Presence.PRESENT
        if leader_present:
            self._lost_since = None
            self._disarm(TAKEOVER_KEY)
            back = state.stand_in is not None and (
                self._leader_away or state.lead_reason is pb.LeadReason.LEADER_LOST
            )
            self._leader_away = False
            if back:
                return [pb.LeaderBack()]
        elif any(Capability.LEAD in self._caps(by_role, p) for p in participants.values()):
            # a leader has been in the room (a late leader is not a lost one)
            self._leader_away = self._leader_away or state.stand_in is not None
            if stand_in_present:
                self._lost_since = None
                self._disarm(TAKEOVER_KEY)
            else:
                if self._lost_since is None:
                    self._lost_since = now_ms
                due = self._lost_since + self._takeover_ms
                candidates = sorted(
                    (p for p in present if Capability.STAND_IN in self._caps(by_role, p)),
                    key=lambda p: p.person_id,
                )
                if now_ms >= due and candidates:
                    self._disarm(TAKEOVER_KEY)
                    return [pb.StandIn(candidates[0].person_id)]
                if now_ms < due:
                    self._arm(TAKEOVER_KEY, due)
        return self._safety(state, present, now_ms)

    def _safety(
        self, state: ProtocolState, present: list[Participant], now_ms: int
    ) -> list[pb.Command]:
        row = self._spec.row(state.phase)
        unled = not any(Capability.LEAD in self._caps(state, p) for p in present)
        if not (unled and row.ends_unled and row.max_min is not None):
            self._disarm(UNLED_KEY)
            return []
        at = state.phase_started_at_ms + state.paused_ms + row.max_min * MINUTE_MS
        if now_ms >= at:
            self._disarm(UNLED_KEY)
            log.warning("room %s: nobody leads; %s ends at its maximum", self._session_id, row)
            return [pb.ReleaseUnled(state.epoch)]
        self._arm(UNLED_KEY, at)
        return []

    def _arm(self, key: str, at_ms: int) -> None:
        if self._armed.get(key) != at_ms:
            self._armed[key] = at_ms
            self._timers.start(key, at_ms, LeadDue())

    def _disarm(self, key: str) -> None:
        if self._armed.pop(key, None) is not None:
            self._timers.cancel(key)

    async def announce(self, state: ProtocolState) -> None:
        """After a committed change: tell the room and audit, if who leads changed."""
        now = (state.stand_in, state.lead_reason)
        if now == self._told:
            return
        self._told = now
        payload = {
            "stand_in": None if state.stand_in is None else str(state.stand_in),
            "reason": None if state.lead_reason is None else state.lead_reason.value,
            "by": None if state.lead_by is None else str(state.lead_by),
        }
        await self._out.to_room(self._session_id, "room.lead", payload)
        try:
            await self._store.audit(
                actor_id=state.lead_by,
                action="room.lead",
                target=f"session:{self._session_id}",
                outcome=AuditOutcome.ALLOWED,
                details={**payload, "phase": state.phase.value},
            )
        except Exception:
            log.exception("room %s: audit write failed", self._session_id)
