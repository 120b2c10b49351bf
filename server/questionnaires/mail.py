"""Questionnaire e-mails in English, Persian and Dutch: a form opens, a reminder, a safety alert
to the group's leaders.

Form mails carry a single-use link to one form: they are secret kinds (never shown to
coordinators, the body redacted once sent). The safety alert names the member to the group's
leaders only and never carries the answer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Person
from server.notify.mailer import Notifier
from server.notify.outbox import Notice, enqueue
from server.notify.templates import pick_locale
from server.questionnaires.models import Timepoint


class FormMail(StrEnum):
    FORM_OPEN = "form_open"
    FORM_REMINDER = "form_reminder"
    SAFETY_ALERT = "safety_alert"


SECRET_FORM_KINDS = frozenset({FormMail.FORM_OPEN.value, FormMail.FORM_REMINDER.value})

TIMEPOINT_NAMES: dict[str, dict[Timepoint, str]] = {
    "en": {
        Timepoint.PRE: "start-of-series",
        Timepoint.POST: "end-of-series",
        Timepoint.FOLLOWUP: "follow-up",
        Timepoint.CHECKIN: "after-session",
    },
    "fa": {
        Timepoint.PRE: "آغاز دوره",
        Timepoint.POST: "پایان دوره",
        Timepoint.FOLLOWUP: "پیگیری",
        Timepoint.CHECKIN: "پس از جلسه",
    },
    "nl": {
        Timepoint.PRE: "begin-van-de-reeks",
        Timepoint.POST: "eind-van-de-reeks",
        Timepoint.FOLLOWUP: "follow-up",
        Timepoint.CHECKIN: "na-de-sessie",
    },
}

_T: dict[str, dict[FormMail, tuple[str, str]]] = {
    "en": {
        FormMail.FORM_OPEN: (
            "A short questionnaire: {title}",
            "Dear {name},\n\nthe {timepoint} questionnaire of {title} ({group}) is open until "
            "{until} ({tz}). Your answers are saved as you go.\nOpen it: {link}\n\n"
            "Answering is never a condition for taking part. To stop questionnaire e-mails, "
            'choose "No questionnaire e-mail" on the questionnaire page.\n',
        ),
        FormMail.FORM_REMINDER: (
            "Reminder: questionnaire of {title}",
            "Dear {name},\n\nthe {timepoint} questionnaire of {title} ({group}) is still open "
            "until {until} ({tz}).\nOpen it: {link}\n\nTo stop questionnaire e-mails, choose "
            '"No questionnaire e-mail" on the questionnaire page.\n',
        ),
        FormMail.SAFETY_ALERT: (
            "Please check in with {member} ({group})",
            "Dear {name},\n\nan answer of {member} on a questionnaire of {group} met the "
            "safety rule of {instrument}. Please get in touch with them today.\n"
            "The alert is on your group page: {link}\n",
        ),
    },
    "fa": {
        FormMail.FORM_OPEN: (
            "یک پرسشنامهٔ کوتاه: {title}",
            "{name} گرامی،\n\nپرسشنامهٔ {timepoint} برای {title} ({group}) تا {until} ({tz}) "
            "باز است. پاسخ‌های شما همزمان ذخیره می‌شوند.\nباز کردن: {link}\n\n"
            "پاسخ دادن هرگز شرط شرکت در گروه نیست. برای دریافت نکردن این ایمیل‌ها، در صفحهٔ "
            "پرسشنامه «ایمیل پرسشنامه نمی‌خواهم» را انتخاب کنید.\n",
        ),
        FormMail.FORM_REMINDER: (
            "یادآوری: پرسشنامهٔ {title}",
            "{name} گرامی،\n\nپرسشنامهٔ {timepoint} برای {title} ({group}) هنوز تا {until} "
            "({tz}) باز است.\nباز کردن: {link}\n\nبرای دریافت نکردن این ایمیل‌ها، در صفحهٔ "
            "پرسشنامه «ایمیل پرسشنامه نمی‌خواهم» را انتخاب کنید.\n",
        ),
        FormMail.SAFETY_ALERT: (
            "لطفاً با {member} تماس بگیرید ({group})",
            "{name} گرامی،\n\nیکی از پاسخ‌های {member} در پرسشنامهٔ گروه {group} با قاعدهٔ "
            "ایمنی {instrument} منطبق بود. لطفاً امروز با ایشان تماس بگیرید.\n"
            "هشدار در صفحهٔ گروه شما است: {link}\n",
        ),
    },
    "nl": {
        FormMail.FORM_OPEN: (
            "Een korte vragenlijst: {title}",
            "Beste {name},\n\nde {timepoint}-vragenlijst van {title} ({group}) staat open tot "
            "{until} ({tz}). Je antwoorden worden meteen bewaard.\nOpenen: {link}\n\n"
            "Invullen is nooit een voorwaarde om mee te doen. Geen vragenlijstmail meer? Kies "
            '"Geen vragenlijst-e-mail" op de vragenlijstpagina.\n',
        ),
        FormMail.FORM_REMINDER: (
            "Herinnering: vragenlijst van {title}",
            "Beste {name},\n\nde {timepoint}-vragenlijst van {title} ({group}) staat nog open "
            "tot {until} ({tz}).\nOpenen: {link}\n\nGeen vragenlijstmail meer? Kies "
            '"Geen vragenlijst-e-mail" op de vragenlijstpagina.\n',
        ),
        FormMail.SAFETY_ALERT: (
            "Neem contact op met {member} ({group})",
            "Beste {name},\n\neen antwoord van {member} op een vragenlijst van {group} viel "
            "onder de veiligheidsregel van {instrument}. Neem vandaag contact op.\n"
            "De melding staat op je groepspagina: {link}\n",
        ),
    },
}


def render_form_mail(kind: FormMail, locale: str | None, **values: object) -> tuple[str, str]:
    subject, body = _T[pick_locale(locale)][kind]
    return subject.format(**values), body.format(**values)


def timepoint_name(tp: Timepoint, locale: str | None) -> str:
    return TIMEPOINT_NAMES[pick_locale(locale)][tp]


async def queue_mail(
    s: AsyncSession,
    notifier: Notifier,
    *,
    person: Person,
    organisation_id: int,
    kind: str,
    subject: str,
    body: str,
    dispatch_id: int | None,
    now: datetime,
    locale: str,
) -> None:
    """One questionnaire mail to ``person``, through the one writer of the outbox."""
    notice = Notice(
        kind=kind,
        to_address=person.email,
        locale=locale,
        subject=subject,
        body=body,
        person_id=person.id,
        organisation_id=organisation_id,
        dispatch_id=dispatch_id,
    )
    await enqueue(s, [notice], notifier, now)
