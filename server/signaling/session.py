"""Session events: hello, agreement.accept, join, leave."""

from __future__ import annotations

from server.auth.enrolment import removal_reason
from server.errors import Conflict, ErrorCode, PermissionDenied, UserError
from server.rooms.agreement import agreement_text
from server.rooms.commands import Join, Leave
from server.rooms.ports import JSON

from .context import Conn, Event, EventTable, Services
from .models import PROTOCOL_VERSION, AgreementAccept, Empty, Hello
from .removal import removed_error


async def still_enrolled(svc: Services, conn: Conn, event: str) -> None:
    """Refuse (``removed``) a person who is no longer active, no longer an active member of
    the session's group, or whose role there is not the one their join token carries."""
    if svc.sessionmaker is None:
        return
    reason = await removal_reason(svc.sessionmaker, conn.person_id, conn.session_id, conn.role)
    if reason is not None:
        raise await svc.refuse(conn, event, removed_error(reason))


async def hello(svc: Services, conn: Conn, p: Hello) -> JSON:
    if p.v != PROTOCOL_VERSION:
        raise UserError(
            f"This server speaks protocol version {PROTOCOL_VERSION}, not {p.v}.",
            code=ErrorCode.UNSUPPORTED_VERSION,
        )
    await still_enrolled(svc, conn, "hello")
    # The pre-join page: read what it needs; the room opens (lease, media) at the first join.
    info = await svc.rooms().info(conn.session_id)
    conn.display_name = await svc.db().display_name(conn.person_id)
    if not conn.agreement_ok:
        conn.agreement_ok = info.series_id is None or await svc.db().has_accepted(
            conn.person_id, info.series_id, info.agreement_version
        )
    conn.said_hello = True
    return {
        "server_time_ms": svc.clock.now_ms(),
        "protocol_version": PROTOCOL_VERSION,
        "you": {
            "person_id": str(conn.person_id),
            "role": conn.role.value,
            "display_name": conn.display_name,
        },
        "agreement": {
            "required": not conn.agreement_ok,
            "version": info.agreement_version,
            "text": agreement_text(info),
        },
    }


async def accept_agreement(svc: Services, conn: Conn, p: AgreementAccept) -> JSON:
    info = await svc.rooms().info(conn.session_id)
    if p.version != info.agreement_version:
        raise Conflict(
            f"The current agreement is version {info.agreement_version}, not {p.version}.",
            code=ErrorCode.AGREEMENT_VERSION,
        )
    now = svc.clock.now_ms()
    if info.series_id is not None:
        await svc.db().accept_agreement(conn.person_id, info.series_id, p.version, now)
    conn.agreement_ok = True
    return {"accepted_at_ms": now, "version": p.version}


async def join(svc: Services, conn: Conn, p: Empty) -> JSON:
    await still_enrolled(svc, conn, "join")
    room = await svc.room_of(conn)
    # Joined before the room admits us: the room offers media while admitting, and a fast
    # client's answer can arrive before this ack (the room checks presence itself).
    conn.joined = True
    try:
        return await room.submit(
            Join(
                person_id=conn.person_id,
                sid=conn.sid,
                display_name=conn.display_name,
                group_role=conn.role,
                agreement_accepted=conn.agreement_ok,
                sender=svc.sender(conn.sid) if svc.media is not None else None,
            )
        )
    except BaseException:
        conn.joined = False
        raise


async def leave(svc: Services, conn: Conn, p: Empty) -> JSON:
    await require_joined(svc, conn, "leave")
    room = await svc.room_of(conn)
    conn.joined = False
    return await room.submit(Leave(person_id=conn.person_id, sid=conn.sid))


async def require_joined(svc: Services, conn: Conn, event: str) -> None:
    if not conn.joined:
        raise await svc.refuse(
            conn, event, PermissionDenied("You are not in this room.", code=ErrorCode.NOT_IN_ROOM)
        )


EVENTS: EventTable = {
    "hello": Event(Hello, hello, needs_hello=False),
    "agreement.accept": Event(AgreementAccept, accept_agreement),
    "join": Event(Empty, join),
    "leave": Event(Empty, leave),
}
