"""Account mail: one way to queue a message to a person (the outbox), and the notice a person
gets when an administrator makes a one-click sign-in link for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Person, utcnow
from server.scheduling.models import OutboxMessage, OutboxStatus
from server.scheduling.templates import format_when, person_zone, pick_locale

SIGN_IN_LINK_KIND = "sign_in_link"

_LINK_NOTICE: dict[str, tuple[str, str]] = {
    "en": (
        "A sign-in link was made for your Healers' Circle account",
        "Dear {name},\n\nan administrator of your organisation made a one-click sign-in link "
        "for your Healers' Circle account on {when}. It works once, until {until}, and reaches "
        "you from them, not by this e-mail.\n\nIf you did not expect this, tell your "
        "coordinator.\n",
    ),
    "fa": (
        "یک پیوند ورود برای حساب شما در Healers' Circle ساخته شد",
        "{name} گرامی،\n\nیکی از مدیران سازمان شما در {when} یک پیوند ورود یک‌باره برای حساب "
        "شما در Healers' Circle ساخته است. این پیوند فقط یک بار و تا {until} کار می‌کند و از "
        "طرف خود آنان به دست شما می‌رسد، نه با این ایمیل.\n\nاگر انتظارش را نداشتید، به "
        "هماهنگ‌کننده‌تان خبر دهید.\n",
    ),
    "nl": (
        "Er is een aanmeldlink voor je Healers' Circle-account gemaakt",
        "Beste {name},\n\neen beheerder van je organisatie heeft op {when} een aanmeldlink "
        "voor je Healers' Circle-account gemaakt. Die werkt één keer, tot {until}, en bereikt "
        "je via hen, niet via deze e-mail.\n\nHad je dit niet verwacht? Laat het je "
        "coördinator weten.\n",
    ),
}


def queue_mail(
    s: AsyncSession, person: Person, *, kind: str, subject: str, body: str, smtp: bool = True
) -> None:
    """Queue one e-mail to ``person`` in the caller's transaction. Without SMTP the outbox is
    the destination (as for every notice, server/scheduling/notifier.py): stored as sent."""
    now = utcnow()
    s.add(
        OutboxMessage(
            organisation_id=person.organisation_id,
            person_id=person.id,
            to_address=person.email,
            locale=pick_locale(person.locale),
            kind=kind,
            subject=subject[:300],
            body=body,
            channel="smtp" if smtp else "outbox",
            status=OutboxStatus.QUEUED if smtp else OutboxStatus.SENT,
            attempts=0 if smtp else 1,
            next_attempt_at=now,
            sent_at=None if smtp else now,
        )
    )


def queue_link_notice(s: AsyncSession, person: Person, *, expires_at: datetime, smtp: bool) -> None:
    """Tell ``person`` that a sign-in link was made for them (the notice carries no link)."""
    locale = pick_locale(person.locale)
    zone = person_zone(person.timezone)
    subject, body = _LINK_NOTICE[locale]
    body = body.format(
        name=person.display_name,
        when=format_when(utcnow(), zone, locale),
        until=format_when(expires_at, zone, locale),
    )
    queue_mail(s, person, kind=SIGN_IN_LINK_KIND, subject=subject, body=body, smtp=smtp)
