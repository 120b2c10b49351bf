"""The Balint session (shared/seeds/001, after Otten 2017), default one hour.

| phase        | minutes (min-max) | may always speak             | by the floor   | floor |
|--------------|-------------------|------------------------------|----------------|-------|
| waiting      | untimed           | everyone                     |                |       |
| presentation | 10 (5-20)         | leaders, presenter           | (nobody)       |       |
| questions    | 8 (3-15)          | leaders, presenter           | members        | hands |
| sit_back     | 15 (15-20)*       | leaders, members             | (nobody)       |       |
| return       | 7 (3-15)          | leaders, presenter           | members        | hands |
| open         | 20 (5-30)         | everyone                     |                |       |
| closed       | untimed           | nobody                       |                |       |

* ``sitback_minutes`` in the group settings (15-20). The presenter is the only role missing
from sit-back: their microphone is cut by the server for the whole phase. During the
presentation members may not interrupt. In the return the presenter speaks first: members
speak only once the leader calls on them (or opens the floor). The presenter is chosen (or a
volunteer's hand accepted) in the waiting room or during the presentation; the presentation
cannot start without one. A phase whose time runs out overruns unless the group chose
``auto_advance``.
"""

from __future__ import annotations

from enum import StrEnum

from server.domain import ProtocolKind

from .base import (
    EVERYONE,
    LEADERS,
    NOBODY,
    Floor,
    PhaseSpec,
    ProtocolSpec,
    Role,
)


class Phase(StrEnum):
    WAITING = "waiting"
    PRESENTATION = "presentation"
    QUESTIONS = "questions"
    SIT_BACK = "sit_back"
    RETURN = "return"
    OPEN = "open"
    CLOSED = "closed"


_MEMBERS = frozenset({Role.MEMBER})

PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        Phase.WAITING,
        None,
        None,
        None,
        EVERYONE,
        presenter_changeable=True,
        note="lobby; a member volunteers by raising a hand",
    ),
    PhaseSpec(
        Phase.PRESENTATION,
        10,
        5,
        20,
        LEADERS | {Role.PRESENTER},
        presenter_changeable=True,
        requires_presenter=True,
        setting="presentation_minutes",
        note="the presenter tells the case; the group listens without interrupting",
    ),
    PhaseSpec(
        Phase.QUESTIONS,
        8,
        3,
        15,
        LEADERS | {Role.PRESENTER},
        _MEMBERS,
        Floor.HANDS,
        requires_presenter=True,
        setting="questions_minutes",
        note="short factual questions for clarification",
    ),
    PhaseSpec(
        Phase.SIT_BACK,
        15,
        15,
        20,
        LEADERS | _MEMBERS,
        NOBODY,
        Floor.OPEN,
        requires_presenter=True,
        setting="sitback_minutes",
        note="the presenter sits back, microphone off, silent for 15-20 minutes",
    ),
    PhaseSpec(
        Phase.RETURN,
        7,
        3,
        15,
        LEADERS | {Role.PRESENTER},
        _MEMBERS,
        Floor.HANDS,
        requires_presenter=True,
        setting="return_minutes",
        note="the presenter comes back and speaks first",
    ),
    PhaseSpec(
        Phase.OPEN,
        20,
        5,
        30,
        EVERYONE,
        setting="open_minutes",
        note="open processing, presenter included, until the end of the hour",
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the session has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.BALINT,
    phase_enum=Phase,
    phases=PHASES,
    default_total_min=60,
    uses_presenter=True,
    co_leaders_lead=False,
    description="Balint group: presentation, questions, sit-back, return, open processing",
)
