"""The request context handed to API handlers: settings, database, the current person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import audit
from server.appkeys import DB_KEY, REMOVER_KEY, SETTINGS_KEY
from server.auth.cookies import session_cookie
from server.auth.ratelimit import client_address
from server.auth.sessions import resolve_session
from server.db.models import Membership, Person, PersonRole
from server.domain import AuditOutcome, GroupRole, MembershipStatus, OrgRole, RemovalReason
from server.errors import NotFound, PermissionDenied, Unauthenticated
from server.settings import Settings

MAX_ID = 2**31 - 1  # PostgreSQL integer keys


@dataclass
class Ctx:
    request: web.Request
    person: Person | None = None
    response_cookies: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)
    deleted_cookies: list[str] = field(default_factory=list)
    session_token: str | None = None  # the cookie token of the current login

    @property
    def settings(self) -> Settings:
        return self.request.app[SETTINGS_KEY]

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.request.app[DB_KEY].sessionmaker

    @property
    def address(self) -> str:
        """The client's address: from X-Forwarded-For only when the peer is a trusted proxy."""
        return client_address(
            self.request.remote, self.request.headers, tuple(self.settings.trusted_proxies)
        )

    def path_int(self, name: str) -> int:
        value = int(self.request.match_info[name])
        if not 0 < value <= MAX_ID:
            raise NotFound(f"no such {name.removesuffix('_id')}")
        return value

    def path_str(self, name: str) -> str:
        return self.request.match_info[name]

    async def load_person(self) -> Person | None:
        token = self.request.cookies.get(session_cookie(self.settings.secure_cookies))
        if not token:
            return None
        async with self.sessionmaker() as s:
            self.person = await resolve_session(
                s, token, idle_minutes=self.settings.session_idle_minutes
            )
        self.session_token = token if self.person is not None else None
        return self.person

    def me(self) -> Person:
        if self.person is None:
            raise Unauthenticated("log in first")
        return self.person

    async def org_roles(self, s: AsyncSession, org_id: int) -> set[OrgRole]:
        me = self.me()
        rows = await s.scalars(
            select(PersonRole.role).where(
                PersonRole.person_id == me.id, PersonRole.organisation_id == org_id
            )
        )
        return set(rows)

    async def group_role(self, s: AsyncSession, group_id: int) -> GroupRole | None:
        me = self.me()
        return await s.scalar(
            select(Membership.role).where(
                Membership.group_id == group_id,
                Membership.person_id == me.id,
                Membership.status == MembershipStatus.ACTIVE,
            )
        )

    async def refuse(self, action: str, target: str, message: str) -> PermissionDenied:
        """Audit a refused action in its own transaction and return the error to raise."""
        await audit.record_now(
            self.sessionmaker,
            actor_id=self.person.id if self.person else None,
            action=action,
            target=target,
            outcome=AuditOutcome.REFUSED,
            details={"address": self.address},
        )
        return PermissionDenied(message)

    async def require_org_role(
        self, s: AsyncSession, org_id: int, roles: Iterable[OrgRole], *, action: str
    ) -> None:
        if not (await self.org_roles(s, org_id)) & set(roles):
            raise await self.refuse(
                action,
                f"organisation:{org_id}",
                "only a coordinator of this organisation may do this",
            )


async def remove_from_rooms(
    ctx: Ctx, person_id: int, session_ids: list[int] | None, reason: RemovalReason
) -> None:
    """Take a person out of live rooms at once (when the app runs rooms: ``REMOVER_KEY``)."""
    remover = ctx.request.app.get(REMOVER_KEY)
    if remover is not None:
        await remover(person_id, session_ids, reason)
