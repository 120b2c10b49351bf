"""What personal data the server holds about a person, table by table: one row per holding,
with why it is held, for how long, and how it is exported and erased.

This table is the one answer to "what do you hold about me": the export walks it, erasure
walks it, and docs/privacy.md lists the same names (a test checks). A package that adds a
table holding personal data adds its row here (or in a module of rows listed here, as the
pathways' are in holdings_pathways.py; the shared helpers are in holding.py).

Erasure keeps the ``people`` row as a pseudonym (no name, address, profession or password):
attendance and accepted agreements stay attached to it, so a group's records and statistics
stay whole without saying who the person was. Free text that may name them (mail bodies,
audit details, reasons) is deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.attendance.models import (
    AttendanceCorrection,
    AttendanceExcuse,
    AttendanceRecordRow,
    ScoreEntry,
)
from server.coaching.models import CoachingOffer
from server.db.models import (
    AgreementAcceptance,
    AttendanceEvent,
    AuditEntry,
    AuthSession,
    Group,
    Invitation,
    LoginAttempt,
    Membership,
    Person,
    PersonRole,
    SeriesConfirmation,
)
from server.notify.models import OutboxMessage
from server.privacy.holding import Holding, Outcome, row_dict
from server.privacy.holding import by_person as _by_person
from server.privacy.holding import delete_by_person as _delete_by_person
from server.privacy.holding import kept as _kept
from server.privacy.holding import rows as _rows
from server.privacy.holdings_pathways import PATHWAY_HOLDINGS
from server.privacy.models import PrivacyRequest
from server.questionnaires.form_models import FormAssignment, FormMailPref, SafetyAlert
from server.questionnaires.models import (
    QuestionnaireResponse,
    ResearchCode,
    ResearchConsent,
    ResearchGrant,
    ResponseItem,
)
from server.scheduling.models import CalendarToken, Dispatch

ERASED_NAME = "Erased person"


def erased_email(person_id: int) -> str:
    return f"erased-{person_id}@erased.invalid"


def is_erased(person: Person) -> bool:
    return person.email == erased_email(person.id)


async def _export_mail_pref(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(s, select(FormMailPref).where(FormMailPref.person_id == p.id))


# -- people -------------------------------------------------------------------------------


async def _export_person(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return [row_dict(p)]


async def _erase_person(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    p.email = erased_email(p.id)
    p.display_name = ERASED_NAME
    p.profession = None
    p.department = None
    p.password_hash = None
    p.is_active = False
    return Outcome("pseudonymised", 1)


# -- memberships (with the group's name, which the person knows) ---------------------------


async def _export_memberships(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    rows = await s.execute(
        select(Membership, Group.name)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.person_id == p.id)
        .order_by(Membership.id)
    )
    return [row_dict(m) | {"group_name": name} for m, name in rows.all()]


# -- audit log: entries by or about the person ----------------------------------------------


def _audit_of(p: Person) -> Any:
    return or_(
        AuditEntry.actor_id == p.id,
        AuditEntry.target == f"person:{p.id}",
        AuditEntry.target == f"email:{p.email}",  # sign-in and reset requests by address
    )


async def _export_audit(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(s, select(AuditEntry).where(_audit_of(p)).order_by(AuditEntry.id))


async def _erase_audit(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(
        update(AuditEntry).where(_audit_of(p)).values(details={"erased": True})
    )
    await s.execute(
        update(AuditEntry)
        .where(AuditEntry.target == f"email:{p.email}")
        .values(target=f"person:{p.id}")
    )
    return Outcome(
        "pseudonymised",
        int(getattr(result, "rowcount", 0) or 0),
        "who did what stays for accountability, under the pseudonym; the details "
        "(addresses, names) are removed",
    )


# -- outbox: mail to the person (bodies name them) ------------------------------------------


def _mail_of(p: Person) -> Any:
    return or_(OutboxMessage.person_id == p.id, OutboxMessage.to_address == p.email)


async def _export_outbox(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(s, select(OutboxMessage).where(_mail_of(p)).order_by(OutboxMessage.id))


async def _erase_outbox(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(OutboxMessage).where(_mail_of(p)))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


# -- failed logins: their key carries the address -------------------------------------------


def _attempts_of(p: Person) -> Any:
    # Keys look like "acct:<email>" or "<action>:<email>|<address>" (server/auth/ratelimit.py).
    return func.lower(LoginAttempt.key).contains(p.email.lower(), autoescape=True)


async def _export_attempts(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    rows = await s.scalars(select(LoginAttempt.at).where(_attempts_of(p)).order_by(LoginAttempt.at))
    return [{"failed_login_at": at.isoformat()} for at in rows]


async def _erase_attempts(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(LoginAttempt).where(_attempts_of(p)))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


# -- attendance records, excuses, corrections; score inputs entered by hand ------------------


async def _export_records(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(
        s,
        select(AttendanceRecordRow)
        .where(AttendanceRecordRow.person_id == p.id)
        .order_by(AttendanceRecordRow.session_id),
    )


async def _erase_corrections(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(
        update(AttendanceCorrection)
        .where(AttendanceCorrection.person_id == p.id)
        .values(reason="(erased)")
    )
    return Outcome(
        "pseudonymised",
        int(getattr(result, "rowcount", 0) or 0),
        "the corrected status stays with the group's records; the reason is removed",
    )


def _score_entries_of(p: Person) -> Any:
    return (ScoreEntry.subject == "person") & (ScoreEntry.subject_id == p.id)


async def _export_score_entries(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(s, select(ScoreEntry).where(_score_entries_of(p)).order_by(ScoreEntry.id))


async def _erase_score_entries(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(ScoreEntry).where(_score_entries_of(p)))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


async def _export_code(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(s, select(ResearchCode).where(ResearchCode.person_id == p.id))


async def _erase_code(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(ResearchCode).where(ResearchCode.person_id == p.id))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


# -- questionnaire answers: the items of the person's responses ---------------------------


def _answers_of(p: Person) -> Any:
    return ResponseItem.response_id.in_(
        select(QuestionnaireResponse.id).where(QuestionnaireResponse.person_id == p.id)
    )


async def _export_answers(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await _rows(s, select(ResponseItem).where(_answers_of(p)).order_by(ResponseItem.id))


async def _erase_answers(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(ResponseItem).where(_answers_of(p)))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


HOLDINGS: tuple[Holding, ...] = (
    Holding(
        "people",
        "your account: name, e-mail, language, time zone, profession and department (for "
        "peer matching), password hash",
        "while the account exists; erasure replaces it with a pseudonym",
        _export_person,
        _erase_person,
    ),
    Holding(
        "person_roles",
        "organisation roles (admin, coordinator, researcher)",
        "while the role is held",
        _by_person(PersonRole),
        _delete_by_person(PersonRole),
    ),
    Holding(
        "memberships",
        "the groups you are or were in, with your role",
        "for the life of the group",
        _export_memberships,
        _kept(Membership, "a group's roster and statistics stay whole under the pseudonym"),
    ),
    Holding(
        "attendance_events",
        "when you joined and left each session (never what was said: nothing is recorded)",
        "for the life of the group plus retention_attendance_days",
        _by_person(AttendanceEvent),
        _kept(AttendanceEvent, "attendance of a held session stays, under the pseudonym"),
    ),
    Holding(
        "attendance_records",
        "your attendance derived from those times: status, minutes present, reconnects",
        "as the attendance events (rebuilt from them; gone with them)",
        _export_records,
        _kept(AttendanceRecordRow, "a group's attendance stays whole, under the pseudonym"),
    ),
    Holding(
        "attendance_excuses",
        "the sessions you said ahead you could not come to, with your reason (leaders only)",
        "for the life of the group",
        _by_person(AttendanceExcuse),
        _delete_by_person(AttendanceExcuse),
    ),
    Holding(
        "attendance_corrections",
        "your leaders' corrections of your attendance, with their reasons",
        "for the life of the group",
        _by_person(AttendanceCorrection),
        _erase_corrections,
    ),
    Holding(
        "coaching_offers",
        "the coaching calls offered to you after a workshop: declined (with your reason, if "
        "you gave one) or booked",
        "for the life of the account",
        _by_person(CoachingOffer),
        _delete_by_person(CoachingOffer),
    ),
    Holding(
        "score_entries",
        "score inputs a coordinator entered for you by hand (steps, courses, articles, posts)",
        "for the life of the account",
        _export_score_entries,
        _erase_score_entries,
    ),
    Holding(
        "agreement_acceptances",
        "which version of the group agreement you accepted, and when",
        "for the life of the group",
        _by_person(AgreementAcceptance),
        _kept(AgreementAcceptance, "proof of what was agreed, under the pseudonym"),
    ),
    Holding(
        "series_confirmations",
        "that you confirmed taking part in a series",
        "for the life of the series",
        _by_person(SeriesConfirmation),
        _delete_by_person(SeriesConfirmation),
    ),
    Holding(
        "dispatches",
        "reminders and notices planned for you",
        "until sent; superseded ones with the series",
        _by_person(Dispatch),
        _delete_by_person(Dispatch),
    ),
    Holding(
        "outbox",
        "messages sent to you (subject and body)",
        "bodies retention_outbox_days after sending",
        _export_outbox,
        _erase_outbox,
    ),
    Holding(
        "auth_sessions",
        "your logins (when made, when they expire; never the cookie itself)",
        "until expiry plus retention_links_days",
        _by_person(AuthSession),
        _delete_by_person(AuthSession),
    ),
    Holding(
        "invitations",
        "one-click sign-in links made for you (only a hash of each is kept)",
        "until expiry or use plus retention_links_days",
        _by_person(Invitation),
        _delete_by_person(Invitation),
    ),
    Holding(
        "calendar_tokens",
        "your calendar feed links (only a hash of each is kept)",
        "until revoked plus retention_links_days",
        _by_person(CalendarToken),
        _delete_by_person(CalendarToken),
    ),
    Holding(
        "login_attempts",
        "failed sign-ins with your address (for rate limiting)",
        "retention_links_days",
        _export_attempts,
        _erase_attempts,
    ),
    Holding(
        "audit_log",
        "privileged and refused actions you did, or that were done about you",
        "details retention_audit_days; entries for accountability",
        _export_audit,
        _erase_audit,
    ),
    Holding(
        "response_items",
        "your answers to each questionnaire item",
        "with the questionnaire response",
        _export_answers,
        _erase_answers,
    ),
    Holding(
        "questionnaire_responses",
        "the questionnaires you were sent and answered, with their scores",
        "for the life of the series; research exports hold them only under your research code "
        "and only while your research consent stands",
        _by_person(QuestionnaireResponse),
        _delete_by_person(QuestionnaireResponse),
    ),
    Holding(
        "safety_alerts",
        "alerts to your group's leaders when an answer met a questionnaire's safety rule",
        "with the questionnaire form",
        _by_person(SafetyAlert),
        _delete_by_person(SafetyAlert),
    ),
    Holding(
        "form_assignments",
        "which questionnaire forms you were sent, for which series and timepoint",
        "for the life of the series",
        _by_person(FormAssignment),
        _delete_by_person(FormAssignment),
    ),
    Holding(
        "form_mail_prefs",
        "whether you opted out of questionnaire e-mail",
        "while the account exists",
        _export_mail_pref,
        _delete_by_person(FormMailPref),
    ),
    Holding(
        "research_codes",
        "your pseudonymous research code (random; what research exports carry instead of you)",
        "while the account exists",
        _export_code,
        _erase_code,
    ),
    Holding(
        "research_consents",
        "whether you consented to research use of your answers, when, and any withdrawal",
        "while the account exists",
        _by_person(ResearchConsent),
        _delete_by_person(ResearchConsent),
    ),
    Holding(
        "research_grants",
        "the studies whose pseudonymous outcomes you may read as a researcher",
        "while granted",
        _by_person(ResearchGrant),
        _delete_by_person(ResearchGrant),
    ),
    *PATHWAY_HOLDINGS,
    Holding(
        "privacy_requests",
        "your requests to export or erase your data, and how they were carried out",
        "for accountability",
        _by_person(PrivacyRequest),
        _kept(PrivacyRequest, "proof that the erasure was asked for and done"),
    ),
)
