"""The pathways' messages (en, fa, nl), queued through notify's ``enqueue`` (its one writer).

A message names no score, no answer and no other person's case: an offer says only that peer
support is offered and where to answer; a message to the leaders says only who wrote and where
to read it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Person
from server.notify.mailer import Notifier
from server.notify.outbox import Notice, enqueue
from server.notify.templates import pick_locale


class PathMail(StrEnum):
    PEER_OFFER = "peer_offer"
    PEER_PROPOSAL = "peer_proposal"
    PEER_MATCHED = "peer_matched"
    LEADER_MESSAGE = "leader_message"


TEXTS: dict[PathMail, dict[str, tuple[str, str]]] = {
    PathMail.PEER_OFFER: {
        "en": (
            "An offer of peer support",
            "Dear {name},\n\nYou can have a confidential conversation with a trained peer "
            "from another department: one to three conversations, at times that suit you. "
            "Nobody else sees this offer. If you would like one, or would rather not, say so "
            "here:\n{link}\n",
        ),
        "fa": (
            "پیشنهاد حمایت همتا",
            "{name} گرامی،\n\nمی‌توانید با یک همتای آموزش‌دیده از بخشی دیگر گفتگویی محرمانه "
            "داشته باشید: یک تا سه گفتگو، در زمانی که برای شما مناسب است. هیچ‌کس دیگری این "
            "پیشنهاد را نمی‌بیند. اگر مایلید، یا ترجیح می‌دهید نه، اینجا بگویید:\n{link}\n",
        ),
        "nl": (
            "Een aanbod voor peer support",
            "Beste {name},\n\nU kunt een vertrouwelijk gesprek voeren met een getrainde collega "
            "van een andere afdeling: een tot drie gesprekken, op momenten die u uitkomen. "
            "Niemand anders ziet dit aanbod. Wilt u dat, of liever niet, zeg het hier:\n{link}\n",
        ),
    },
    PathMail.PEER_PROPOSAL: {
        "en": (
            "A colleague would like a peer-support conversation",
            "Dear {name},\n\nThe coordinator proposes you as the trained peer for a colleague "
            "who asked for peer support. Please confirm here:\n{link}\n",
        ),
        "fa": (
            "همکاری خواهان گفتگوی حمایت همتا است",
            "{name} گرامی،\n\nهماهنگ‌کننده شما را به عنوان همتای آموزش‌دیده برای همکاری که "
            "درخواست حمایت همتا داده پیشنهاد می‌کند. لطفاً اینجا تأیید کنید:\n{link}\n",
        ),
        "nl": (
            "Een collega wil graag een peer-supportgesprek",
            "Beste {name},\n\nDe coördinator stelt u voor als getrainde collega voor iemand die "
            "om peer support vroeg. Bevestig het hier:\n{link}\n",
        ),
    },
    PathMail.PEER_MATCHED: {
        "en": (
            "Your peer-support conversations can be booked",
            "Dear {name},\n\nYour peer match is confirmed. The first conversation is booked "
            "with the coordinator; see it here:\n{link}\n",
        ),
        "fa": (
            "گفتگوهای حمایت همتای شما قابل رزرو است",
            "{name} گرامی،\n\nهمتای شما تأیید شد. نخستین گفتگو با هماهنگ‌کننده رزرو می‌شود؛ "
            "آن را اینجا ببینید:\n{link}\n",
        ),
        "nl": (
            "Uw peer-supportgesprekken kunnen worden gepland",
            "Beste {name},\n\nUw koppeling is bevestigd. Het eerste gesprek wordt met de "
            "coördinator gepland; zie het hier:\n{link}\n",
        ),
    },
    PathMail.LEADER_MESSAGE: {
        "en": (
            "A message from a member of {group}",
            "Dear {name},\n\n{member} sent the leaders of {group} a message. Read it here:\n"
            "{link}\n",
        ),
        "fa": (
            "پیامی از یکی از اعضای {group}",
            "{name} گرامی،\n\n{member} برای رهبران {group} پیامی فرستاده است. آن را اینجا "
            "بخوانید:\n{link}\n",
        ),
        "nl": (
            "Een bericht van een lid van {group}",
            "Beste {name},\n\n{member} stuurde de begeleiders van {group} een bericht. Lees het "
            "hier:\n{link}\n",
        ),
    },
}


async def tell(
    s: AsyncSession,
    notifier: Notifier,
    kind: PathMail,
    person: Person,
    now: datetime,
    **values: str,
) -> None:
    """Queue one message to ``person`` in their language, in the caller's transaction. An
    offer of peer support is the person's alone: its row carries no organisation, so it is not
    in the coordinators' outbox view (``GET /api/organisations/{id}/outbox``)."""
    locale = pick_locale(person.locale)
    subject, body = TEXTS[kind].get(locale, TEXTS[kind]["en"])
    values = {"name": person.display_name, **values}
    await enqueue(
        s,
        [
            Notice(
                kind=kind.value,
                to_address=person.email,
                locale=locale,
                subject=subject.format(**values),
                body=body.format(**values),
                person_id=person.id,
                organisation_id=None if kind is PathMail.PEER_OFFER else person.organisation_id,
            )
        ],
        notifier,
        now,
    )
