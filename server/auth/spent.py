"""Single-use tokens spent across processes: a row per spent token id in the shared database
(the primary key makes a second spend fail in every process at once). Rows are kept until the
token would have expired anyway, then swept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, utcnow
from server.errors import ErrorCode, Gone


class SpentToken(Base):
    """A join token that has opened its connection (only the hash of its id is kept)."""

    __tablename__ = "spent_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


async def spend(
    sessionmaker: async_sessionmaker[AsyncSession], token_id: str, expires_at: float
) -> None:
    """Mark ``token_id`` spent; :class:`Gone` (``token_used``) when it was spent before."""
    digest = hashlib.sha256(token_id.encode()).hexdigest()
    try:
        async with sessionmaker() as s, s.begin():
            await s.execute(delete(SpentToken).where(SpentToken.expires_at < utcnow()))
            s.add(SpentToken(token_hash=digest, expires_at=datetime.fromtimestamp(expires_at, UTC)))
    except IntegrityError:
        raise Gone(
            "This join token was used already; ask for a new one.", code=ErrorCode.TOKEN_USED
        ) from None
