"""Notification templates per language (en, fa, nl) and time formatting per person.

Templates are ``str.format`` strings over a fixed set of names: name, group, title, when,
old_when, until, tz, link, confirm, index, minutes, note (the coordinator's note line, or nothing)
and sessions (one line per session of a summary). Times are always shown in the recipient's own
timezone. Kinds in ``SECRET_KINDS`` carry a single-use sign-in link: their stored body is
replaced by ``REDACTED_BODY`` once sent and is never shown to coordinators.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCALES = ("en", "fa", "nl")
DEFAULT_LOCALE = "en"


class Kind(StrEnum):
    REMINDER = "reminder"
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    MAKEUP = "makeup"
    ENROLLED = "enrolled"
    WAITING = "waiting"
    PROMOTED = "promoted"
    WITHDRAWN = "withdrawn"
    PASSWORD_RESET = "password_reset"
    RETIMED = "retimed"  # the rest of a series moved to a new weekly pattern: one summary
    CANCELLED_REST = "cancelled_rest"  # the rest of a series cancelled: one summary
    SIGN_IN_LINK = "sign_in_link"  # an admin made a one-click sign-in link (the link is not in it)
    RESTORED = "restored"  # a cancelled session was restored (a coordinator's undo)
    COACHING_OFFER = "coaching_offer"  # after a workshop: the 1:1 coaching call is offered


# Also the questionnaire mails, each with a single-use link to one form (server/questionnaires).
SECRET_KINDS = frozenset({Kind.PASSWORD_RESET.value, "form_open", "form_reminder"})
REDACTED_BODY = "[removed: this message carried a single-use sign-in link]"


WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fa": ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنج‌شنبه", "جمعه", "شنبه", "یکشنبه"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
}

_T: dict[str, dict[Kind, tuple[str, str]]] = {
    "en": {
        Kind.REMINDER: (
            "Reminder: {group} on {when}",
            "Dear {name},\n\nsession {index} of {title} ({group}) starts on {when} ({tz}).\n"
            "Join from: {link}\n",
        ),
        Kind.BOOKED: (
            "You are booked: {title}",
            "Dear {name},\n\n{title} ({group}) begins on {when} ({tz}). Its sessions:\n"
            "{sessions}\n"
            "Please confirm that you will take part: {confirm}\n"
            "The first session: {link}\n",
        ),
        Kind.MOVED: (
            "Moved: {group} session {index} is now on {when}",
            "Dear {name},\n\nsession {index} of {title} ({group}) has moved from {old_when} "
            "to {when} ({tz}).\n{note}{link}\n",
        ),
        Kind.CANCELLED: (
            "Cancelled: {group} session {index} on {when}",
            "Dear {name},\n\nsession {index} of {title} ({group}) on {when} ({tz}) is "
            "cancelled.\n{note}{link}\n",
        ),
        Kind.RETIMED: (
            "New times: {title} ({group}) from session {index}",
            "Dear {name},\n\nfrom session {index} on, {title} ({group}) meets at new times "
            "({tz}):\n{sessions}\n{note}{link}\n",
        ),
        Kind.CANCELLED_REST: (
            "Cancelled: the rest of {title} ({group})",
            "Dear {name},\n\nthese sessions of {title} ({group}) are cancelled ({tz}):\n"
            "{sessions}\n{note}",
        ),
        Kind.MAKEUP: (
            "Extra session: {group} on {when}",
            "Dear {name},\n\na make-up session of {title} ({group}) is booked for {when} "
            "({tz}).\n{link}\n",
        ),
        Kind.RESTORED: (
            "Back on: {group} session {index} on {when}",
            "Dear {name},\n\nsession {index} of {title} ({group}) on {when} ({tz}) is not "
            "cancelled after all: it takes place as planned.\n{link}\n",
        ),
        Kind.ENROLLED: (
            "Welcome to {group}",
            "Dear {name},\n\nyou are enrolled in {group}. The next session is on {when} ({tz}).\n"
            "{link}\n",
        ),
        Kind.WAITING: (
            "On the waiting list for {group}",
            "Dear {name},\n\n{group} is full; you are on its waiting list. We will tell you "
            "as soon as a place opens.\n",
        ),
        Kind.PROMOTED: (
            "A place opened in {group}",
            "Dear {name},\n\na place opened in {group} and it is yours. The next session is on "
            "{when} ({tz}).\n{link}\n",
        ),
        Kind.WITHDRAWN: (
            "You left {group}",
            "Dear {name},\n\nyou are no longer enrolled in {group}. Its sessions are removed "
            "from your calendar.\n",
        ),
        Kind.PASSWORD_RESET: (
            "Choose a new password for Healers' Circle",
            "Dear {name},\n\nsomeone (we hope you) asked to reset the password of your "
            "Healers' Circle account. Choose a new one here:\n{link}\n\n"
            "The link works once, for {minutes} minutes. If you did not ask for this, ignore "
            "this message: your password stays as it is.\n",
        ),
        Kind.SIGN_IN_LINK: (
            "A sign-in link was made for your Healers' Circle account",
            "Dear {name},\n\nan administrator of your organisation made a one-click sign-in "
            "link for your Healers' Circle account on {when}. It works once, until {until}, and "
            "reaches you from them, not by this e-mail.\n\nIf you did not expect this, tell "
            "your coordinator.\n",
        ),
        Kind.COACHING_OFFER: (
            "A coaching call is offered to you after {group}",
            "Dear {name},\n\nthank you for taking part in {group}. A one-to-one coaching call "
            "of {minutes} minutes with {coach} is offered to you; it is optional. {coach} or "
            "your coordinator books it with you within {days} days of the workshop.\n\n"
            'If you do not want it, say "No, thank you" on your sessions page:\n{link}\n',
        ),
    },
    "fa": {
        Kind.REMINDER: (
            "یادآوری: {group} در {when}",
            "{name} گرامی،\n\nجلسه {index} از {title} ({group}) در {when} ({tz}) آغاز می‌شود.\n"
            "پیوند ورود: {link}\n",
        ),
        Kind.BOOKED: (
            "نوبت شما ثبت شد: {title}",
            "{name} گرامی،\n\n{title} ({group}) از {when} ({tz}) آغاز می‌شود. جلسه‌های آن:\n"
            "{sessions}\n"
            "لطفاً شرکت خود را تأیید کنید: {confirm}\n"
            "نخستین جلسه: {link}\n",
        ),
        Kind.MOVED: (
            "تغییر زمان: جلسه {index} {group} اکنون در {when}",
            "{name} گرامی،\n\nجلسه {index} از {title} ({group}) از {old_when} به {when} ({tz}) "
            "منتقل شد.\n{note}{link}\n",
        ),
        Kind.CANCELLED: (
            "لغو شد: جلسه {index} {group} در {when}",
            "{name} گرامی،\n\nجلسه {index} از {title} ({group}) در {when} ({tz}) لغو شد.\n"
            "{note}{link}\n",
        ),
        Kind.RETIMED: (
            "زمان‌های تازه: {title} ({group}) از جلسه {index}",
            "{name} گرامی،\n\nاز جلسه {index} به بعد، {title} ({group}) در این زمان‌ها برگزار "
            "می‌شود ({tz}):\n{sessions}\n{note}{link}\n",
        ),
        Kind.CANCELLED_REST: (
            "لغو شد: باقی جلسه‌های {title} ({group})",
            "{name} گرامی،\n\nاین جلسه‌های {title} ({group}) لغو شدند ({tz}):\n{sessions}\n{note}",
        ),
        Kind.MAKEUP: (
            "جلسه جبرانی: {group} در {when}",
            "{name} گرامی،\n\nیک جلسه جبرانی از {title} ({group}) برای {when} ({tz}) ثبت شد.\n"
            "{link}\n",
        ),
        Kind.RESTORED: (
            "برگزار می‌شود: جلسه {index} {group} در {when}",
            "{name} گرامی،\n\nلغو جلسه {index} از {title} ({group}) در {when} ({tz}) برداشته "
            "شد: این جلسه طبق برنامه برگزار می‌شود.\n{link}\n",
        ),
        Kind.ENROLLED: (
            "به {group} خوش آمدید",
            "{name} گرامی،\n\nشما در {group} ثبت‌نام شدید. جلسه بعدی در {when} ({tz}) است.\n"
            "{link}\n",
        ),
        Kind.WAITING: (
            "در فهرست انتظار {group}",
            "{name} گرامی،\n\nظرفیت {group} تکمیل است؛ شما در فهرست انتظار هستید و به محض "
            "آزاد شدن جا به شما خبر می‌دهیم.\n",
        ),
        Kind.PROMOTED: (
            "جایی در {group} برای شما باز شد",
            "{name} گرامی،\n\nجایی در {group} باز شد و از آن شماست. جلسه بعدی در {when} ({tz}) "
            "است.\n{link}\n",
        ),
        Kind.WITHDRAWN: (
            "شما از {group} خارج شدید",
            "{name} گرامی،\n\nشما دیگر عضو {group} نیستید و جلسات آن از تقویم شما حذف شد.\n",
        ),
        Kind.PASSWORD_RESET: (
            "انتخاب گذرواژه تازه برای Healers' Circle",
            "{name} گرامی،\n\nکسی (امیدواریم خود شما) خواست گذرواژه حساب شما در "
            "Healers' Circle بازنشانی شود. گذرواژه تازه را اینجا انتخاب کنید:\n{link}\n\n"
            "این پیوند یک بار و تا {minutes} دقیقه کار می‌کند. اگر شما این را نخواسته‌اید، این "
            "پیام را نادیده بگیرید؛ گذرواژه شما تغییری نمی‌کند.\n",
        ),
        Kind.SIGN_IN_LINK: (
            "یک پیوند ورود برای حساب شما در Healers' Circle ساخته شد",
            "{name} گرامی،\n\nیکی از مدیران سازمان شما در {when} یک پیوند ورود یک‌باره برای "
            "حساب شما در Healers' Circle ساخته است. این پیوند فقط یک بار و تا {until} کار "
            "می‌کند و از طرف خود آنان به دست شما می‌رسد، نه با این ایمیل.\n\nاگر انتظارش را "
            "نداشتید، به هماهنگ‌کنندهٔ خود خبر دهید.\n",
        ),
        Kind.COACHING_OFFER: (
            "پس از {group} یک جلسهٔ مربیگری به شما پیشنهاد می‌شود",
            "{name} گرامی،\n\nاز شرکت شما در {group} سپاسگزاریم. یک جلسهٔ مربیگری فردی "
            "{minutes} دقیقه‌ای با {coach} به شما پیشنهاد می‌شود؛ شرکت در آن اختیاری است. "
            "{coach} یا هماهنگ‌کنندهٔ شما تا {days} روز پس از کارگاه زمان آن را با شما "
            "تعیین می‌کند.\n\nاگر آن را نمی‌خواهید، در صفحهٔ جلسه‌های خود «نه، متشکرم» را "
            "بزنید:\n{link}\n",
        ),
    },
    "nl": {
        Kind.REMINDER: (
            "Herinnering: {group} op {when}",
            "Beste {name},\n\nsessie {index} van {title} ({group}) begint op {when} ({tz}).\n"
            "Deelnemen via: {link}\n",
        ),
        Kind.BOOKED: (
            "Je bent ingeschreven: {title}",
            "Beste {name},\n\n{title} ({group}) begint op {when} ({tz}). De sessies:\n"
            "{sessions}\n"
            "Bevestig alsjeblieft dat je meedoet: {confirm}\n"
            "De eerste sessie: {link}\n",
        ),
        Kind.MOVED: (
            "Verplaatst: sessie {index} van {group} is nu op {when}",
            "Beste {name},\n\nsessie {index} van {title} ({group}) is verplaatst van {old_when} "
            "naar {when} ({tz}).\n{note}{link}\n",
        ),
        Kind.CANCELLED: (
            "Vervallen: sessie {index} van {group} op {when}",
            "Beste {name},\n\nsessie {index} van {title} ({group}) op {when} ({tz}) gaat niet "
            "door.\n{note}{link}\n",
        ),
        Kind.RETIMED: (
            "Nieuwe tijden: {title} ({group}) vanaf sessie {index}",
            "Beste {name},\n\nvanaf sessie {index} komt {title} ({group}) op nieuwe tijden "
            "samen ({tz}):\n{sessions}\n{note}{link}\n",
        ),
        Kind.CANCELLED_REST: (
            "Vervallen: de rest van {title} ({group})",
            "Beste {name},\n\ndeze sessies van {title} ({group}) gaan niet door ({tz}):\n"
            "{sessions}\n{note}",
        ),
        Kind.MAKEUP: (
            "Inhaalsessie: {group} op {when}",
            "Beste {name},\n\ner is een inhaalsessie van {title} ({group}) gepland op {when} "
            "({tz}).\n{link}\n",
        ),
        Kind.RESTORED: (
            "Gaat toch door: sessie {index} van {group} op {when}",
            "Beste {name},\n\nsessie {index} van {title} ({group}) op {when} ({tz}) gaat toch "
            "door, zoals gepland.\n{link}\n",
        ),
        Kind.ENROLLED: (
            "Welkom bij {group}",
            "Beste {name},\n\nje bent ingeschreven bij {group}. De volgende sessie is op {when} "
            "({tz}).\n{link}\n",
        ),
        Kind.WAITING: (
            "Op de wachtlijst voor {group}",
            "Beste {name},\n\n{group} is vol; je staat op de wachtlijst. We laten het je weten "
            "zodra er een plek vrijkomt.\n",
        ),
        Kind.PROMOTED: (
            "Er is een plek vrij in {group}",
            "Beste {name},\n\ner is een plek vrijgekomen in {group} en die is voor jou. De "
            "volgende sessie is op {when} ({tz}).\n{link}\n",
        ),
        Kind.WITHDRAWN: (
            "Je bent uitgeschreven bij {group}",
            "Beste {name},\n\nje bent niet meer ingeschreven bij {group}. De sessies zijn uit je "
            "agenda verwijderd.\n",
        ),
        Kind.PASSWORD_RESET: (
            "Kies een nieuw wachtwoord voor Healers' Circle",
            "Beste {name},\n\niemand (hopelijk jij) heeft gevraagd het wachtwoord van je "
            "Healers' Circle-account opnieuw in te stellen. Kies hier een nieuw wachtwoord:\n"
            "{link}\n\nDe link werkt één keer, {minutes} minuten lang. Heb je dit niet "
            "gevraagd? Negeer dan dit bericht: je wachtwoord blijft zoals het is.\n",
        ),
        Kind.SIGN_IN_LINK: (
            "Er is een aanmeldlink voor je Healers' Circle-account gemaakt",
            "Beste {name},\n\neen beheerder van je organisatie heeft op {when} een aanmeldlink "
            "voor je Healers' Circle-account gemaakt. Die werkt één keer, tot {until}, en bereikt "
            "je via hen, niet via deze e-mail.\n\nHad je dit niet verwacht? Laat het je "
            "coördinator weten.\n",
        ),
        Kind.COACHING_OFFER: (
            "Na {group} krijg je een coachingsgesprek aangeboden",
            "Beste {name},\n\nbedankt voor je deelname aan {group}. Je krijgt een persoonlijk "
            "coachingsgesprek van {minutes} minuten met {coach} aangeboden; het is vrijwillig. "
            "{coach} of je coördinator plant het met je binnen {days} dagen na de workshop.\n\n"
            'Wil je het niet? Kies dan "Nee, dank je" op je pagina met sessies:\n{link}\n',
        ),
    },
}


def pick_locale(locale: str | None) -> str:
    base = (locale or "").split("-")[0].lower()
    return base if base in LOCALES else DEFAULT_LOCALE


def person_zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    raise AssertionError("UTC always exists")


def format_when(at: datetime, zone: ZoneInfo, locale: str) -> str:
    """``Thursday 2026-10-29 19:00`` in the person's zone and language."""
    local = at.astimezone(zone)
    day = WEEKDAYS[pick_locale(locale)][local.weekday()]
    return f"{day} {local:%Y-%m-%d %H:%M}"


NOTE_LABEL = {"en": "Note", "fa": "یادداشت", "nl": "Toelichting"}


def note_line(note: object, locale: str) -> str:
    """The coordinator's note for a change notice, as one line, or nothing."""
    text = " ".join(str(note or "").split())
    return f"{NOTE_LABEL[pick_locale(locale)]}: {text}\n" if text else ""


def render(kind: Kind, locale: str | None, **values: object) -> tuple[str, str]:
    """(subject, body) of ``kind`` in ``locale`` (English when the language is not offered)."""
    subject, body = _T[pick_locale(locale)][kind]
    return subject.format(**values), body.format(**values)
