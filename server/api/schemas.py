"""Request and response models of the foundation API (pydantic, extra fields refused)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from server.auth.names import invisible_problem
from server.domain import GroupRole, MembershipStatus, OrgRole, ProtocolKind, SessionStatus

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EMAIL_RE = r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"


def _no_control(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("must not contain control characters")
    if not v.strip():
        raise ValueError("must not be blank")
    return v.strip()


def _visible(v: str) -> str:
    problem = invisible_problem(v)
    if problem:
        raise ValueError(problem)
    return v


def _tz(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {v!r}") from None
    return v


Email = Annotated[
    str, StringConstraints(max_length=254, pattern=EMAIL_RE), AfterValidator(str.lower)
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120), AfterValidator(_no_control)]
# A person's name as others see it: no invisible or direction-changing characters.
DisplayName = Annotated[Name, AfterValidator(_visible)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_control)]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=120), AfterValidator(_no_control)
]
Slug = Annotated[str, StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9-]+$")]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_tz)]
Locale = Literal["en", "fa", "nl"]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- auth
class LoginIn(In):
    email: Email
    password: Password


class InvitationIn(In):
    token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class PasswordIn(In):
    new_password: Password
    current_password: Password | None = None


class PasswordResetIn(In):
    email: Email


class PasswordResetConfirmIn(In):
    token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Password


class PasswordResetOut(Out):
    """The same answer whether or not the address belongs to an account."""

    accepted: bool
    link_ttl_minutes: int


class GroupRef(Out):
    id: int
    name: str
    protocol: ProtocolKind
    role: GroupRole


class MeOut(Out):
    id: int
    display_name: str
    email: str
    locale: Locale | None
    timezone: str
    organisation_id: int
    roles: list[OrgRole]
    groups: list[GroupRef]
    has_password: bool


class MyProfileIn(In):
    display_name: DisplayName | None = None
    locale: Locale | None = None
    timezone: TimeZone | None = None


# --- organisations and people
class OrganisationIn(In):
    name: Title
    slug: Slug


class OrganisationOut(Out):
    id: int
    name: str
    slug: str


class PersonIn(In):
    email: Email
    display_name: DisplayName
    profession: ShortText | None = None
    department: ShortText | None = None
    locale: Locale | None = None
    timezone: TimeZone = "UTC"
    roles: list[OrgRole] = Field(default_factory=list, max_length=3)


class PersonPatch(In):
    display_name: DisplayName | None = None
    profession: ShortText | None = None
    department: ShortText | None = None
    locale: Locale | None = None
    timezone: TimeZone | None = None
    is_active: bool | None = None


class PersonOut(Out):
    id: int
    organisation_id: int
    email: str
    display_name: str
    profession: str | None
    department: str | None
    locale: Locale | None
    timezone: str
    is_active: bool


class InvitationOut(Out):
    url: str
    expires_at: datetime


# --- groups
# A group's protocol settings: which keys and values are allowed is the protocol's table
# (server/protocols, docs/protocols.md), checked by the groups API; here only the shape.
# ``null`` resets a setting to the protocol's default.
SettingName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
GroupSettings = Annotated[
    dict[SettingName, bool | int | Annotated[str, StringConstraints(max_length=64)] | None],
    Field(max_length=32),
]


class GroupIn(In):
    name: Title
    protocol: ProtocolKind
    capacity: int | None = Field(None, ge=1, le=16)
    min_members: int | None = Field(None, ge=1, le=16)
    settings: GroupSettings = Field(default_factory=dict)


class ProtocolOut(Out):
    """A group kind's member bounds from its protocol table (server/protocols): a group takes
    ``members_low``-``members_high`` members (leaders not counted); ``members_default`` is the
    capacity a new group gets when none is given."""

    protocol: ProtocolKind
    members_low: int
    members_high: int
    members_default: int


class GroupPatch(In):
    name: Title | None = None
    capacity: int | None = Field(None, ge=1, le=16)
    min_members: int | None = Field(None, ge=1, le=16)
    settings: GroupSettings | None = None


class GroupOut(Out):
    id: int
    organisation_id: int
    name: str
    protocol: ProtocolKind
    capacity: int
    min_members: int
    settings: dict[str, Any]
    member_count: int


class MembershipOut(Out):
    person_id: int
    display_name: str
    role: GroupRole
    status: MembershipStatus
    email: str | None = None  # only for coordinators and leaders
    profession: str | None = None
    department: str | None = None


# --- sessions
class AgreementRefOut(Out):
    """The group agreement of a session's series, for the pre-join page: the client words it
    from its catalogues (per protocol, role and language) before anything is joined."""

    version: str
    planned_sessions: int
    # Whether I accepted this version already (the room then does not ask again).
    accepted: bool


class SessionSummaryOut(Out):
    id: int
    group_id: int
    group_name: str
    protocol: ProtocolKind
    series_id: int | None
    index: int
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: SessionStatus
    lobby_opens_at: datetime
    role: GroupRole | None
    # Whether I confirmed taking part in the session's series (None: no series, or not asked).
    series_confirmed: bool | None = None
    # The series' group agreement (None for a session outside a series: nothing to accept).
    agreement: AgreementRefOut | None = None


class JoinTokenOut(Out):
    token: str
    expires_at: datetime
    session_id: int
    role: GroupRole


class HealthOut(Out):
    status: Literal["ok", "unavailable"]
    database: bool | None = None
    migrations: str | None = None
