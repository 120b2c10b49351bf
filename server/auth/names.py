"""Display names: no invisible or direction-changing characters, and no member may take a name
that passes for one of their group's leaders.

Refused in a display name: every character of Unicode category Cf (bidi overrides and
isolates, zero-width space and joiner, soft hyphen, BOM, ...) except the zero-width non-joiner
U+200C between two letters, which Persian spelling needs (``حسن‌زاده``).

Impersonation: a member may not take a name whose *skeleton* equals a leader's (or
co-leader's) of a group they share. The skeleton is NFKC, case-folded, with every Cf
character and all whitespace and punctuation removed, and a table of common cross-script
look-alikes (Cyrillic and Greek letters that look Latin) mapped to Latin. Leaders themselves
are not held to this (the room shows their role beside their name).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Membership, Person
from server.domain import GroupRole, MembershipStatus
from server.errors import Conflict, ErrorCode

ZWNJ = "\u200c"
LEADERS = (GroupRole.LEADER, GroupRole.CO_LEADER)

# Cyrillic and Greek letters (after case folding) that render like Latin ones.
_LOOKALIKE = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ɡ": "g", "ӏ": "l", "α": "a", "β": "b", "ε": "e", "η": "n",
        "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "ℓ": "l", "ı": "i", "0": "o", "1": "l",
    }
)  # fmt: skip


def invisible_problem(text: str) -> str | None:
    """Why ``text`` may not be a name (an invisible or direction-changing character), or None."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) != "Cf":
            continue
        if ch == ZWNJ and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            continue
        return (
            f"must not contain invisible or text-direction characters "
            f"(U+{ord(ch):04X} {unicodedata.name(ch, 'format character')})"
        )
    return None


def skeleton(name: str) -> str:
    """What a name looks like, for comparing names that may be spelt to deceive."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = (
        ch
        for ch in folded.translate(_LOOKALIKE)
        if unicodedata.category(ch)[0] in "LNM" and unicodedata.category(ch) != "Mn"
    )
    return "".join(kept)


async def check_impersonation(s: AsyncSession, person_id: int, new_name: str) -> None:
    """Refuse (409 ``name_impersonates``, field ``display_name``) a name that passes for a
    leader of a group in which ``person_id`` is a member."""
    mine = (
        select(Membership.group_id)
        .where(
            Membership.person_id == person_id,
            Membership.role == GroupRole.MEMBER,
            Membership.status != MembershipStatus.WITHDRAWN,
        )
        .scalar_subquery()
    )
    leaders = await s.scalars(
        select(Person.display_name)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.group_id.in_(mine),
            Membership.role.in_(LEADERS),
            Membership.status != MembershipStatus.WITHDRAWN,
            Person.id != person_id,
        )
    )
    wanted = skeleton(new_name)
    if wanted and any(skeleton(name) == wanted for name in leaders):
        raise Conflict(
            "this name looks like the name of a leader of your group; choose another (add a "
            "surname or an initial)",
            code=ErrorCode.NAME_IMPERSONATES,
            field="display_name",
        )
