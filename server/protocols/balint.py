"""The Balint session (shared/seeds/001, after Otten 2017), default one hour.

| phase        | minutes (min-max) | may always speak             | by the floor   | floor |
|--------------|-------------------|------------------------------|----------------|-------|
| waiting      | untimed           | everyone                     |                |       |
| presentation | 10 (5-20)         | leaders, presenter           | (nobody)       |       |
| questions    | 8 (3-15)          | leaders, presenter           | members        | open° |
| sit_back     | 15 (15-20)*       | leaders, members             | (nobody)       |       |
| return       | 7 (3-15)          | leaders, presenter           | members        | open° |
| open         | 20 (5-30)†        | everyone                     |                |       |
| closed       | untimed           | nobody                       |                |       |

* ``sitback_minutes`` in the group settings (15-20). ° ``questions_floor`` (``open``, the
seed's free floor, or ``hands``). † The open processing takes what the others leave of the
booked length (60 minutes by default), within 5-30. Every number's source is in the rows and
in docs/protocols.md. The presenter is the only role missing
from sit-back: their microphone is cut by the server for the whole phase. During the
presentation members may not interrupt. In the return the presenter may talk first; with the
``hands`` floor members speak only once the leader calls on them. The presenter is chosen (or a
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
from .table import Basis, Bound, Rules, Setting, SettingKind


class Phase(StrEnum):
    WAITING = "waiting"
    PRESENTATION = "presentation"
    QUESTIONS = "questions"
    SIT_BACK = "sit_back"
    RETURN = "return"
    OPEN = "open"
    CLOSED = "closed"


_MEMBERS = frozenset({Role.MEMBER})
_SEED = "001"

PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        Phase.WAITING,
        None,
        None,
        None,
        EVERYONE,
        presenter_changeable=True,
        note="001: a participant volunteers at the beginning of each session (a raised hand)",
        basis=Basis.STUDY,
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
        note="the study gives no length; the group listens without interrupting (001)",
    ),
    PhaseSpec(
        Phase.QUESTIONS,
        8,
        3,
        15,
        LEADERS | {Role.PRESENTER},
        _MEMBERS,
        Floor.OPEN,
        requires_presenter=True,
        setting="questions_minutes",
        note="the study gives no length; others ask short factual questions (001)",
        floor_setting="questions_floor",
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
        note="001: the presenter turns off the microphone and stays silent for 15-20 minutes",
        basis=Basis.STUDY,
        presenter_video_setting="sitback_presenter_video",
        ends_unled=True,
    ),
    PhaseSpec(
        Phase.RETURN,
        7,
        3,
        15,
        LEADERS | {Role.PRESENTER},
        _MEMBERS,
        Floor.OPEN,
        requires_presenter=True,
        setting="return_minutes",
        note="the study gives no length; the presenter comes back and may talk first (001)",
        floor_setting="questions_floor",
    ),
    PhaseSpec(
        Phase.OPEN,
        20,
        5,
        30,
        EVERYONE,
        note="the study gives no length: open processing takes the rest of the booked hour",
        flex=True,
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the session has ended"),
)

RULES = Rules(
    members=Bound(8, 12, 12, Basis.STUDY, "001: each group had 8 to 12 participants"),
    sessions=Bound(6, 8, 8, Basis.STUDY, "001: 6-8 sessions"),
    per_week=Bound(2, 3, 2, Basis.STUDY, "001: 2-3 times a week"),
    length=Bound(
        45, 70, 60, Basis.STUDY, "001: 1 hour per session; the default phases fit 45-70 minutes"
    ),
    settings=(
        Setting(
            "questions_floor",
            SettingKind.CHOICE,
            Floor.OPEN.value,
            Basis.STUDY,
            "001: others are welcome to ask questions when the presenter is finished (open); "
            "'hands' makes members wait to be called on, in questions and return",
            choices=(Floor.OPEN.value, Floor.HANDS.value),
        ),
        Setting(
            "sitback_presenter_video",
            SettingKind.FLAG,
            True,
            Basis.STUDY,
            "001: in Skype groups the presenter just turns off the microphone (video stays); "
            "false also cuts the presenter's video in sit-back",
        ),
        Setting(
            "cadence",
            SettingKind.CHOICE,
            "warn",
            Basis.PRODUCT,
            "a series meeting less often than 2 times a week: the booking preview warns, or "
            "refuses with 'refuse'",
            choices=("warn", "refuse"),
        ),
    ),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.BALINT,
    phase_enum=Phase,
    phases=PHASES,
    rules=RULES,
    uses_presenter=True,
    co_leaders_lead=False,
    description="Balint group: presentation, questions, sit-back, return, open processing",
)
