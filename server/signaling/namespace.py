"""The ``/room`` namespace: token check on connect, then one table of typed events.

A handler runs only after its payload has passed its model; every event is answered with
``{ok: true, ...}`` or ``{ok: false, error: {code, message}}`` and a refused event changes
nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import socketio
from pydantic import ValidationError

from server.auth.spent import spend
from server.auth.tokens import verify_join_token
from server.errors import (
    CircleError,
    Conflict,
    ErrorCode,
    PayloadTooLarge,
    ProtocolError,
    RateLimited,
    Unauthenticated,
    UserError,
    error_body,
)
from server.logs import bind_session
from server.metrics import METRICS
from server.rooms.commands import Disconnect
from server.rooms.ports import JSON

from .context import NAMESPACE, Conn, EventTable, Services

log = logging.getLogger(__name__)


def _ack_error(exc: BaseException) -> JSON:
    return {"ok": False, **error_body(exc)}


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(x) for x in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _utf8_size(payload: Any) -> int:
    """The payload's size in UTF-8 bytes of its compact JSON, as the client measures it
    (not ASCII-escaped: one Persian letter is 2 bytes, not the 6 of ``\\u0641``)."""
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        raise UserError("The payload must be plain JSON.") from None
    return len(text.encode("utf-8", "surrogatepass"))


class RoomNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, services: Services, events: EventTable) -> None:
        super().__init__(NAMESPACE)
        self.svc = services
        self.events = events

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        # A client may emit events named "connect" or "disconnect" too. The real ones arrive
        # while python-socketio holds the sid as pending (not yet / no longer connected).
        if event in ("connect", "disconnect") and not self.server.manager.is_connected(
            args[0], self.namespace
        ):
            if event == "connect":
                return await self._connect(*args)
            return await self._disconnect(args[0])
        return await METRICS.observe_event(
            event, self.events, self._dispatch(args[0], event, args[1:])
        )

    async def _connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        try:
            if self.svc.draining:
                raise Conflict(
                    "This server is stopping; reconnecting to another.",
                    code=ErrorCode.ROOM_MOVING,
                )
            token = auth.get("token") if isinstance(auth, dict) else None
            if not isinstance(token, str):
                raise Unauthenticated("A join token is required (auth: {token}).")
            claims = verify_join_token(self.svc.secret, token)
            if self.svc.sessionmaker is not None:  # single use, across processes
                await spend(self.svc.sessionmaker, claims.token_id, claims.expires_at)
        except CircleError as exc:
            body = exc.to_wire()
            METRICS.refused(body["code"], "connect")
            raise socketio.exceptions.ConnectionRefusedError(body["message"], body) from None
        svc = self.svc
        # At most sockets_per_person connections of one person in one room (a phone and a
        # laptop): the oldest goes, so a device that reconnects is never locked out.
        mine = svc.conns_of(claims.person_id, claims.session_id)
        for old in mine[: max(0, len(mine) - svc.sockets_per_person + 1)]:
            await self._drop(old, "too many connections: replaced by a newer one")
        svc.conns[sid] = Conn(
            sid=sid,
            person_id=claims.person_id,
            session_id=claims.session_id,
            role=claims.role,
            budget=svc.budget_for(claims.session_id, claims.person_id),
        )

    async def _drop(self, conn: Conn, reason: str) -> None:
        await self.emit("room.replaced", {"reason": reason}, to=conn.sid)
        await self._disconnect(conn.sid)
        await self.disconnect(conn.sid)

    async def _disconnect(self, sid: str) -> None:
        conn = self.svc.forget(sid)
        if conn is None or not conn.joined or self.svc.manager is None:
            return
        room = self.svc.manager.peek(conn.session_id)
        if room is not None:
            # Posted, not awaited: a disconnect can be triggered from inside the room's own
            # task (a replaced connection is dropped while a join is applied).
            room.post(Disconnect(person_id=conn.person_id, sid=sid))

    async def _over_budget(self, conn: Conn, event: Any) -> None:
        """Audit the first refusal of a window; drop a connection that keeps flooding."""
        budget = conn.budget
        if budget.first_refusal_in_window or budget.flooding:
            shown = event[:40] if isinstance(event, str) else type(event).__name__
            flooding = budget.flooding
            what = "disconnected for flooding" if flooding else "over its event budget"
            exc = RateLimited(f"Connection {what} (event {shown!r}).")
            await self.svc.refuse(conn, "rate_limited", exc)
            if flooding:
                budget.refused_in_window = 0
                await self.disconnect(conn.sid)

    async def _charge(self, conn: Conn, event: Any) -> None:
        """Spend one event of the connection's budget, or raise ``rate_limited``."""
        if not conn.budget.take(self.svc.clock.now_ms() / 1000):
            await self._over_budget(conn, event)
            raise RateLimited("Too many events: slow down.")

    async def refuse_packet(self, sid: str, exc: CircleError, *, first: bool) -> JSON | None:
        """A packet the edge refused before decoding (server/signaling/edge.py): it costs
        an event like any other; the first one of a connection is audited."""
        conn = self.svc.conns.get(sid)
        if conn is None:
            return None
        try:
            await self._charge(conn, "(refused packet)")
        except RateLimited as limited:
            return _ack_error(limited)
        if first:
            await self.svc.refuse(conn, "packet", exc)
        return _ack_error(exc)

    async def _dispatch(self, sid: str, event: Any, data: tuple[Any, ...]) -> JSON:
        try:
            conn = self.svc.conns.get(sid)
            if conn is None:
                raise Unauthenticated("Not connected with a join token.")
            bind_session(conn.session_id)  # for the log lines of this event (server/logs.py)
            await self._charge(conn, event)
            spec = self.events.get(event) if isinstance(event, str) else None
            if spec is None:
                shown = event[:40] if isinstance(event, str) else type(event).__name__
                raise UserError(f"Unknown event {shown!r}.", code=ErrorCode.UNKNOWN_EVENT)
            if len(data) != 1 or not isinstance(data[0], dict):
                raise UserError("The payload must be one JSON object.")
            size = _utf8_size(data[0])
            if size > spec.model.max_bytes:
                raise PayloadTooLarge(
                    f"The payload is {size} bytes; {event} takes at most {spec.model.max_bytes}."
                )
            try:
                payload = spec.model.model_validate(data[0])
            except ValidationError as exc:
                raise UserError(_validation_message(exc)) from None
            if spec.needs_hello and not conn.said_hello:
                raise ProtocolError("Say hello first.", code=ErrorCode.HELLO_REQUIRED)
            result = await spec.handler(self.svc, conn, payload)
            return {"ok": True, **result}
        except CircleError as exc:
            return _ack_error(exc)
        except Exception as exc:
            log.exception("event %r from %s failed", event, sid)
            return _ack_error(exc)
