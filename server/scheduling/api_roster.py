"""REST for bulk invitations from a CSV file and for whether the outbox really e-mails."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.db.models import Membership, Person
from server.domain import STAFF_ROLES, AuditOutcome, GroupRole, MembershipStatus
from server.errors import Conflict, ErrorCode, UserError
from server.notify.models import OutboxMessage, OutboxStatus
from server.scheduling import enrolment, roster_import
from server.scheduling.api import CONFIG_KEY, _staff_group, _wake
from server.scheduling.calendars import config_for, organisation_zone
from server.scheduling.roster_import import RowProblem
from server.scheduling.schemas import In

router = Router("scheduling")


class ImportIn(In):
    csv: str = Field(
        min_length=1,
        max_length=roster_import.MAX_CHARS,
        description="the file's text: a header row (name, email, language, zone, profession, "
        "department) and one person per row",
    )


class ImportedOut(BaseModel):
    row: int
    person_id: int
    new: bool = Field(description="false: the person already had an account here")
    status: MembershipStatus = Field(description="active, or waiting when the group is full")


class ImportOut(BaseModel):
    created: int
    enrolled: int
    waiting: int
    people: list[ImportedOut]


async def _refuse(ctx: Ctx, group_id: int, problems: list[RowProblem]) -> UserError:
    await audit.record_now(
        ctx.sessionmaker,
        actor_id=ctx.me().id,
        action="group.import",
        target=f"group:{group_id}",
        outcome=AuditOutcome.REFUSED,
        details={"rows": [{"row": p.row, "field": p.field} for p in problems[:50]]},
    )
    first = problems[0]
    where = f"row {first.row}, {first.field}" if first.row else first.field
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return UserError(
        f"nobody was invited: {where}: {first.message}{more}",
        code=ErrorCode.IMPORT_REFUSED,
        fields={"csv": f"{len(problems)} problem(s)"},
        rows=[p.to_wire() for p in problems],
    )


@router.post(
    "/api/groups/{group_id}/import",
    body=ImportIn,
    response=ImportOut,
    status=201,
    summary="Invite people in bulk from a CSV file and enrol them as members (all or nothing)",
    description="Every row is checked first. If any row fails, nothing is written and the "
    "answer is 400 `import_refused` with `details.rows`: one `{row, field, message}` per "
    "problem (the header is row 1). A person whose address the organisation knows is enrolled "
    "as they are; an address of another organisation, or of someone already in the group, is a "
    "problem of that row. New people get the organisation's zone when the row names none. Each "
    "person enrolled gets the usual enrolment notice; sign-in links are made separately.",
)
async def import_people(ctx: Ctx, body: ImportIn) -> ImportOut:
    group_id = ctx.path_int("group_id")
    now = datetime.now(UTC)
    async with ctx.sessionmaker() as s:
        group = await _staff_group(ctx, s, group_id, "group.import")
    parsed = roster_import.parse(body.csv)
    problems = list(parsed.problems)
    async with ctx.sessionmaker() as s:
        emails = [r.email for _, r in parsed.rows]
        known = {
            p.email.lower(): p
            for p in await s.scalars(select(Person).where(func.lower(Person.email).in_(emails)))
        }
        in_group = set(
            await s.scalars(
                select(Membership.person_id).where(
                    Membership.group_id == group_id,
                    Membership.status != MembershipStatus.WITHDRAWN,
                )
            )
        )
        zone = await organisation_zone(s, group.organisation_id) or "UTC"
    for number, row in parsed.rows:
        p = known.get(row.email)
        if p is not None and p.organisation_id != group.organisation_id:
            problems.append(
                RowProblem(number, "email", "this address belongs to another organisation")
            )
        elif p is not None and p.id in in_group:
            problems.append(RowProblem(number, "email", "this person is already in the group"))
    if problems:
        raise await _refuse(ctx, group_id, sorted(problems, key=lambda p: (p.row, p.field)))
    try:
        out = await _write(ctx, group_id, group.organisation_id, parsed.rows, known, zone, now)
    except IntegrityError:  # someone added one of these addresses meanwhile: nothing written
        raise Conflict("an address in the file was added meanwhile; try again") from None
    _wake(ctx)
    waiting = sum(x.status is MembershipStatus.WAITING for x in out)
    return ImportOut(
        created=sum(x.new for x in out), enrolled=len(out) - waiting, waiting=waiting, people=out
    )


async def _write(
    ctx: Ctx,
    group_id: int,
    org_id: int,
    rows: list[tuple[int, roster_import.Row]],
    known: dict[str, Person],
    zone: str,
    now: datetime,
) -> list[ImportedOut]:
    """Create the new people and enrol everyone, in one transaction."""
    out: list[ImportedOut] = []
    async with ctx.sessionmaker() as s, s.begin():
        cfg = await config_for(s, group_id, ctx.request.app[CONFIG_KEY])
        for number, row in rows:
            person = known.get(row.email)
            new = person is None
            if person is None:
                person = Person(
                    organisation_id=org_id,
                    email=row.email,
                    display_name=row.name,
                    locale=row.language,
                    timezone=row.zone or zone,
                    profession=row.profession,
                    department=row.department,
                )
                s.add(person)
                await s.flush()
            m = await enrolment.enrol(
                s,
                group_id,
                person.id,
                role=GroupRole.MEMBER,
                actor_id=ctx.me().id,
                cfg=cfg,
                now=now,
            )
            out.append(ImportedOut(row=number, person_id=person.id, new=new, status=m.status))
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="group.import",
            target=f"group:{group_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"people": [x.person_id for x in out], "created": sum(x.new for x in out)},
        )
    return out


class OutboxStatusOut(BaseModel):
    mail_configured: bool = Field(description="false: no SMTP server; nothing is e-mailed")
    not_emailed: int = Field(description="messages kept in the outbox only (no mail server)")
    queued: int
    failed: int


@router.get(
    "/api/organisations/{org_id}/outbox/status",
    response=OutboxStatusOut,
    summary="Whether messages are really e-mailed, and how many were not (coordinators)",
)
async def outbox_status(ctx: Ctx) -> OutboxStatusOut:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="outbox.read")
        rows = await s.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .where(OutboxMessage.organisation_id == org_id)
            .group_by(OutboxMessage.channel, OutboxMessage.status)
        )
        counts = [(c, st, int(n)) for c, st, n in rows]
    pending = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.RETRY)
    return OutboxStatusOut(
        mail_configured=bool(ctx.settings.smtp_host),
        not_emailed=sum(n for c, _, n in counts if c == "outbox"),
        queued=sum(n for c, st, n in counts if c != "outbox" and st in pending),
        failed=sum(n for _, st, n in counts if st is OutboxStatus.FAILED),
    )
