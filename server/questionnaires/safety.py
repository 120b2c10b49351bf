"""The safety rule: an answer above an instrument's threshold on its safety item (PHQ-9 item 9
above 0) at once alerts the group's leaders (a row they see on their group page, and an e-mail
to each leader and co-leader; never to other members) and shows the member where to get help
now (the organisation's ``questionnaire_help_text``). One alert per form and item."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import Group, Membership, Person
from server.domain import AuditOutcome, GroupRole, MembershipStatus
from server.notify.mailer import Notifier
from server.notify.templates import pick_locale
from server.questionnaires import scoring
from server.questionnaires.form_models import FormAssignment, SafetyAlert
from server.questionnaires.forms import insert_stmt
from server.questionnaires.instrument import Instrument
from server.questionnaires.mail import FormMail, queue_mail, render_form_mail

log = logging.getLogger("circle.questionnaires")
LEADERS = (GroupRole.LEADER, GroupRole.CO_LEADER)


def meets_rule(inst: Instrument, item_id: str, value: int | str | None) -> bool:
    """The instrument side's safety rule, for one answer just given."""
    return value is not None and scoring.safety_triggered(inst, {item_id: value})


async def raise_alert(
    s: AsyncSession,
    a: FormAssignment,
    inst: Instrument,
    item_id: str,
    notifier: Notifier,
    public_url: str,
    now: datetime,
) -> bool:
    """Record the alert and tell the leaders, once per form and item; True when it is new."""
    new_id = (
        await s.execute(
            insert_stmt(s, SafetyAlert)
            .values(
                group_id=a.group_id,
                person_id=a.person_id,
                assignment_id=a.id,
                instrument=inst.id,
                item=item_id,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["assignment_id", "instrument", "item"])
            .returning(SafetyAlert.id)
        )
    ).scalar_one_or_none()
    if new_id is None:
        return False
    member = await s.get(Person, a.person_id)
    group = await s.get(Group, a.group_id)
    assert member is not None and group is not None
    leaders = await s.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.group_id == a.group_id,
            Membership.status == MembershipStatus.ACTIVE,
            Membership.role.in_(LEADERS),
            Person.is_active.is_(True),
        )
    )
    told = 0
    for leader in leaders:
        locale = pick_locale(leader.locale)
        subject, body = render_form_mail(
            FormMail.SAFETY_ALERT,
            locale,
            name=leader.display_name,
            member=member.display_name,
            group=group.name,
            instrument=inst.id,
            link=f"{public_url}/app/questionnaires.html?lang={locale}#alerts={group.id}",
        )
        await queue_mail(
            s,
            notifier,
            person=leader,
            organisation_id=group.organisation_id,
            kind=FormMail.SAFETY_ALERT.value,
            subject=subject,
            body=body,
            dispatch_id=None,
            now=now,
            locale=locale,
        )
        told += 1
    await audit.record(
        s,
        actor_id=a.person_id,
        action="questionnaire.safety_alert",
        target=f"group:{a.group_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"alert": new_id, "instrument": inst.id, "leaders_told": told},
    )
    log.warning("safety alert %s in group %s: %s leader(s) told", new_id, a.group_id, told)
    return True
