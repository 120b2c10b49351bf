"""The notifier port and its two adapters, and the mailer that drains the outbox.

Every notification is first an ``outbox`` row, written by ``outbox.enqueue`` in the same
transaction as the dispatch or change that caused it. With the embedded default (no SMTP) the outbox is the
destination: the row is stored as ``sent`` on channel ``outbox`` and the coordinator reads it
on the outbox page. With SMTP configured rows are ``queued``; the mailer claims them (row locks
on PostgreSQL), sends, and on failure retries with exponential backoff until ``max_attempts``,
after which the row is ``failed`` and shows on the coordinator's dashboard.

A row claimed by a process that died mid-send is not sent again (it may have gone out): it is
marked failed with that reason, so a person is never mailed twice.

A message of a secret kind (a password-reset link) does not linger: once it is sent, or has
finally failed, its stored body is replaced by a short redacted text.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.notify.models import OutboxMessage, OutboxStatus
from server.notify.templates import REDACTED_BODY, SECRET_KINDS
from server.settings import Settings

log = logging.getLogger("circle.notify")

BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 3600.0
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)


Attachment = tuple[str, bytes]  # (filename, text/calendar bytes)
# What to attach to a message (the scheduling package attaches calendars); may raise.
Attachments = Callable[[OutboxMessage], Awaitable[tuple[Attachment, ...]]]


@dataclass(frozen=True, slots=True)
class Envelope:
    to: str
    subject: str
    body: str
    locale: str
    attachments: tuple[Attachment, ...] = ()


class Notifier(Protocol):
    """Sends one message or raises. ``channel`` names it in the outbox."""

    channel: str

    @property
    def immediate(self) -> bool:
        """True when storing the outbox row is the delivery (nothing to send)."""
        ...

    async def send(self, envelope: Envelope) -> None: ...


class OutboxNotifier:
    """The embedded default: the outbox table is the destination."""

    channel = "outbox"

    @property
    def immediate(self) -> bool:
        return True

    async def send(self, envelope: Envelope) -> None:  # pragma: no cover - never drained
        return None


class SmtpNotifier:
    """E-mail over SMTP with aiosmtplib (STARTTLS when configured)."""

    channel = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_s: float = 20.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout_s

    @property
    def immediate(self) -> bool:
        return False

    async def send(self, envelope: Envelope) -> None:
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = envelope.to
        msg["Subject"] = envelope.subject
        msg.set_content(envelope.body)
        for filename, data in envelope.attachments:
            msg.add_attachment(
                data,
                maintype="text",
                subtype="calendar",
                filename=filename,
                params={"method": "PUBLISH"},
            )
        # Last: set_content clears Content-* headers and add_attachment moves them to the body.
        msg["Content-Language"] = envelope.locale
        await aiosmtplib.send(
            msg,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            timeout=self._timeout,
        )


def notifier_from_settings(settings: Settings) -> Notifier:
    if not settings.smtp_host:
        return OutboxNotifier()
    return SmtpNotifier(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


def backoff(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: 30 s, 60 s, 120 s ... capped at an hour."""
    return timedelta(seconds=min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


@dataclass(slots=True)
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class Mailer:
    """Drains queued outbox rows through a non-immediate notifier. Driven by the scheduler."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        *,
        worker: str,
        batch: int = 50,
        max_attempts: int = MAX_ATTEMPTS,
        attachments: Attachments | None = None,
    ) -> None:
        self._attach = attachments
        self._sm = sessionmaker
        self._notifier = notifier
        self._worker = worker
        self._batch = batch
        self._max_attempts = max_attempts

    async def _claim(self, s: AsyncSession, now: datetime) -> list[OutboxMessage]:
        # A send interrupted by a crash: do not risk a second copy; surface it instead.
        interrupted = (
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_until < now,
        )
        await s.execute(
            update(OutboxMessage)
            .where(*interrupted, OutboxMessage.kind.in_(SECRET_KINDS))
            .values(body=REDACTED_BODY)
        )
        await s.execute(
            update(OutboxMessage)
            .where(*interrupted)
            .values(
                status=OutboxStatus.FAILED,
                last_error="interrupted while sending; not retried to avoid a duplicate",
            )
        )
        ids = (
            select(OutboxMessage.id)
            .where(
                or_(
                    OutboxMessage.status == OutboxStatus.QUEUED,
                    OutboxMessage.status == OutboxStatus.RETRY,
                ),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.next_attempt_at)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        rows = await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids.scalar_subquery()))
            .values(
                status=OutboxStatus.SENDING,
                lease_until=now + LEASE,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage)
        )
        return list(rows.scalars())

    async def _attachments(self, m: OutboxMessage) -> tuple[Attachment, ...]:
        if self._attach is None:
            return ()
        try:
            return await self._attach(m)
        except Exception:  # an attachment that cannot be built must not stop the message
            log.exception("attachment for message %s failed", m.id)
            return ()

    async def deliver_once(self, now: datetime) -> DeliveryResult:
        result = DeliveryResult()
        if self._notifier.immediate:
            return result
        async with self._sm() as s, s.begin():
            claimed = await self._claim(s, now)
        for m in claimed:
            env = Envelope(m.to_address, m.subject, m.body, m.locale, await self._attachments(m))
            try:
                await self._notifier.send(env)
            except Exception as exc:  # any transport failure is retried, then surfaced
                error = f"{type(exc).__name__}: {exc}"[:500]
                final = m.attempts >= self._max_attempts
                status = OutboxStatus.FAILED if final else OutboxStatus.RETRY
                log.warning(
                    "send %s to person %s failed (attempt %d): %s",
                    m.id,
                    m.person_id,
                    m.attempts,
                    error,
                )
                values: dict[str, object] = {"status": status, "last_error": error}
                if not final:
                    values["next_attempt_at"] = now + backoff(m.attempts)
                if final:
                    result.failed += 1
                else:
                    result.retried += 1
            else:
                log.info("sent %s (%s) to person %s", m.id, m.kind, m.person_id)
                values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
                result.sent += 1
            if m.kind in SECRET_KINDS and values["status"] != OutboxStatus.RETRY:
                values["body"] = REDACTED_BODY  # the link must not outlive its delivery
            async with self._sm() as s, s.begin():
                await s.execute(
                    update(OutboxMessage).where(OutboxMessage.id == m.id).values(**values)
                )
        return result
