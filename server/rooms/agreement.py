"""The group agreement a member accepts at their first join in a series (after study 003,
whose members agreed at the first session on the duration and on the anonymity of reports):
its text, and the rule the room checks at admission. Pure."""

from __future__ import annotations

from server.errors import Conflict, ErrorCode

from .ports import SessionInfo


def check_agreement(info: SessionInfo, accepted: bool) -> None:
    """Everyone entering a session of a series has accepted its current agreement."""
    if info.series_id is not None and not accepted:
        raise Conflict(
            "Please accept the group agreement first.", code=ErrorCode.AGREEMENT_REQUIRED
        )


def agreement_text(info: SessionInfo) -> str:
    """The English wording, paragraphs separated by a blank line. The member's app words the
    agreement itself from its catalogues (per protocol, role and language; the facts come with
    /api/me/sessions); this text is for other clients (bots) and older pages."""
    n = info.planned_sessions
    sessions = (
        (
            "This series has 1 session; you mean to come to it"
            if n == 1
            else f"This series has {n} sessions; you mean to come to all of them"
        )
        + " and tell the leader when you cannot."
        if n
        else "You mean to come to the sessions of this group and tell the leader when you cannot."
    )
    return "\n\n".join(
        [
            f"Group agreement, version {info.agreement_version}",
            "1. Confidentiality: what is said in this group stays in this group. You do not "
            "repeat cases, names or anyone's words outside it.",
            "2. No recording: you do not record, photograph or transcribe a session, and nobody "
            "else sees or hears it from your side. The server records no audio or video.",
            f"3. {sessions}",
            "4. Anything reported about this group's work is anonymous.",
        ]
    )
