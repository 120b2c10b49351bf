"""REST for answering (tag ``questionnaires``): redeem a form link, read a form, save one answer,
submit; the member's forms, scores, mail opt-out and research consent; the leaders' safety
alerts; a series' questionnaire plan for coordinators.

A form is reached either signed in as its person, or with the form-scoped access token a
redeemed link returned (header ``X-Form-Access``); anybody else is refused and audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.db.models import Person
from server.domain import AuditOutcome
from server.errors import CircleError, NotFound, Unauthenticated
from server.notify import NOTIFIER_KEY
from server.notify.mailer import Notifier
from server.questionnaires import INSTRUMENTS_KEY, consent
from server.questionnaires.form_models import FormAssignment, FormMailPref
from server.questionnaires.form_schemas import (
    AnswerIn,
    AnswerOut,
    ConsentIn,
    ConsentOut,
    FormOut,
    FormQuery,
    FormSummaryOut,
    HelpOut,
    MailPrefIn,
    MailPrefOut,
    RedeemIn,
    RedeemOut,
    SubmitOut,
)
from server.questionnaires.form_views import form_out, summary_out
from server.questionnaires.forms import Answer, form_state, save_answer, submit
from server.questionnaires.links import redeem_form_link, verify_access
from server.questionnaires.registry import Registry
from server.questionnaires.safety import meets_rule, raise_alert
from server.questionnaires.submitted import SUBMITTED_KEY, Submitted

router = Router("questionnaires")
ACCESS_HEADER = "X-Form-Access"


def _now() -> datetime:
    return datetime.now(UTC)


def _registry(ctx: Ctx) -> Registry:
    return ctx.request.app[INSTRUMENTS_KEY]


def _notifier(ctx: Ctx) -> Notifier:
    return ctx.request.app[NOTIFIER_KEY]


async def load_form(ctx: Ctx, s: AsyncSession, form_id: int, action: str) -> FormAssignment:
    """The form, if the caller is its person (signed in, or holding its access token)."""
    a = await s.get(FormAssignment, form_id)
    token = ctx.request.headers.get(ACCESS_HEADER)
    if token:
        who = verify_access(ctx.settings.secret_key, token, form_id)
        if a is not None and who == a.person_id:
            return a
    elif ctx.person is not None and a is not None and ctx.person.id == a.person_id:
        return a
    elif ctx.person is None:
        raise Unauthenticated("log in, or open the questionnaire from its e-mail link")
    if a is None:
        raise NotFound("no such questionnaire")
    raise await ctx.refuse(action, f"form:{form_id}", "this questionnaire is somebody else's")


@router.post(
    "/api/forms/redeem",
    body=RedeemIn,
    response=RedeemOut,
    auth="none",
    errors=(401, 403, 410),
    summary="Redeem a one-click questionnaire link (single use) for access to that one form",
)
async def redeem(ctx: Ctx, body: RedeemIn) -> RedeemOut:
    signed_in = ctx.person.id if ctx.person is not None else None
    try:
        async with ctx.sessionmaker() as s, s.begin():
            got = await redeem_form_link(s, ctx.settings.secret_key, body.token, signed_in)
    except CircleError as exc:
        await audit.record_now(
            ctx.sessionmaker,
            actor_id=signed_in,
            action="form_link.redeem",
            target="form_link",
            outcome=AuditOutcome.REFUSED,
            details={"reason": exc.code},
        )
        raise
    return RedeemOut(form_id=got.assignment.id, access=got.access)


@router.get(
    "/api/forms/{form_id}",
    query=FormQuery,
    response=FormOut,
    auth="none",
    errors=(401, 403, 404),
    summary="A questionnaire form to answer: items in the instrument's language, answers so far",
)
async def get_form(ctx: Ctx, q: FormQuery) -> FormOut:
    async with ctx.sessionmaker() as s:
        a = await load_form(ctx, s, ctx.path_int("form_id"), "form.read")
        person = await s.get(Person, a.person_id)
        lang = q.lang or (person.locale if person else None) or "en"
        return await form_out(s, a, _registry(ctx), lang, _now())


@router.put(
    "/api/forms/{form_id}/answers",
    body=AnswerIn,
    response=AnswerOut,
    auth="none",
    errors=(401, 403, 404, 409),
    summary="Save one answer (validated against the instrument's scale; null clears it)",
)
async def put_answer(ctx: Ctx, body: AnswerIn) -> AnswerOut:
    registry = _registry(ctx)
    now = _now()
    help_out: HelpOut | None = None
    async with ctx.sessionmaker() as s, s.begin():
        a = await load_form(ctx, s, ctx.path_int("form_id"), "form.answer")
        ans = Answer(body.instrument, body.item, body.value)
        await save_answer(s, a, registry, ans, now)
        inst = registry.get(body.instrument)
        if meets_rule(inst, body.item, body.value):
            await raise_alert(s, a, inst, body.item, _notifier(ctx), ctx.settings.public_url, now)
            help_out = HelpOut(text=ctx.settings.questionnaire_help_text, leaders_told=True)
        summary = await summary_out(s, a, registry, now)
    return AnswerOut(
        saved=True, answered=summary.answered, required=summary.required, help=help_out
    )


@router.post(
    "/api/forms/{form_id}/submit",
    response=SubmitOut,
    auth="none",
    errors=(401, 403, 404, 409),
    summary="Submit the form (409 incomplete, naming every required item not yet answered)",
)
async def submit_form(ctx: Ctx) -> SubmitOut:
    registry = _registry(ctx)
    now = _now()
    async with ctx.sessionmaker() as s, s.begin():
        a = await load_form(ctx, s, ctx.path_int("form_id"), "form.submit")
        responses = await submit(s, a, registry, now)
        for listener in ctx.request.app.get(SUBMITTED_KEY, []):
            for r in responses:
                if r.person_id is None:
                    continue
                sub = Submitted(
                    response_id=r.id,
                    person_id=r.person_id,
                    organisation_id=r.organisation_id,
                    series_id=r.series_id,
                    instrument=r.instrument,
                    timepoint=r.timepoint.value,
                    total=(r.scores or {}).get("total"),
                    locale=r.locale,
                )
                await listener(s, sub, _notifier(ctx), now)
        return SubmitOut(state=form_state(responses, now))


@router.get(
    "/api/me/questionnaires",
    response=list[FormSummaryOut],
    summary="My questionnaires: open ones first, then the rest, newest first",
)
async def my_forms(ctx: Ctx) -> list[FormSummaryOut]:
    now = _now()
    async with ctx.sessionmaker() as s:
        rows = await s.scalars(
            select(FormAssignment)
            .where(FormAssignment.person_id == ctx.me().id)
            .order_by(FormAssignment.created_at.desc(), FormAssignment.id.desc())
            .limit(200)
        )
        out = [await summary_out(s, a, _registry(ctx), now) for a in rows]
    return sorted(out, key=lambda f: f.state.value != "open")


@router.get("/api/me/questionnaire-mail", response=MailPrefOut, summary="My questionnaire e-mail")
async def get_mail_pref(ctx: Ctx) -> MailPrefOut:
    async with ctx.sessionmaker() as s:
        pref = await s.get(FormMailPref, ctx.me().id)
    return MailPrefOut(opted_out=pref is not None and pref.opted_out)


@router.put(
    "/api/me/questionnaire-mail",
    body=MailPrefIn,
    response=MailPrefOut,
    summary="Opt out of (or back into) questionnaire e-mail; forms stay in the app",
)
async def put_mail_pref(ctx: Ctx, body: MailPrefIn) -> MailPrefOut:
    async with ctx.sessionmaker() as s, s.begin():
        pref = await s.get(FormMailPref, ctx.me().id)
        if pref is None:
            s.add(FormMailPref(person_id=ctx.me().id, opted_out=body.opted_out, updated_at=_now()))
        else:
            pref.opted_out, pref.updated_at = body.opted_out, _now()
    return MailPrefOut(opted_out=body.opted_out)


async def _consent_out(s: AsyncSession, person_id: int) -> ConsentOut:
    row = await consent.current(s, person_id)
    if row is None:
        return ConsentOut(research=False, given_at=None, withdrawn_at=None)
    return ConsentOut(
        research=row.withdrawn_at is None, given_at=row.given_at, withdrawn_at=row.withdrawn_at
    )


@router.get(
    "/api/me/research-consent",
    response=ConsentOut,
    summary="My research consent (separate from taking part)",
)
async def get_consent(ctx: Ctx) -> ConsentOut:
    async with ctx.sessionmaker() as s:
        return await _consent_out(s, ctx.me().id)


@router.put(
    "/api/me/research-consent",
    body=ConsentIn,
    response=ConsentOut,
    summary="Give or withdraw research consent (audited); a withdrawal leaves every later export",
)
async def put_consent(ctx: Ctx, body: ConsentIn) -> ConsentOut:
    async with ctx.sessionmaker() as s, s.begin():
        if body.research:
            await consent.give(s, ctx.me(), body.text_version, _now())
        else:
            await consent.withdraw(s, ctx.me(), _now())
    async with ctx.sessionmaker() as s:
        return await _consent_out(s, ctx.me().id)
