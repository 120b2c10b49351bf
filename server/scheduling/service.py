"""The owner of scheduled time: an APScheduler 3 ``AsyncIOScheduler`` with two short-interval
jobs, the dispatch sweep and the mailer.

The durable state is the ``dispatches`` and ``outbox`` tables, not APScheduler's job store: the
two jobs are re-created at every start, so they live in APScheduler's in-memory store. (A
SQLAlchemy job store would add synchronous database calls on the event loop at every wake-up
and buy nothing: a job that only says "sweep every second" has nothing to persist. The
per-dispatch-job design that would need it is measured as the baseline in bench/scheduler.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Membership
from server.notify.mailer import DeliveryResult, Mailer, Notifier
from server.scheduling.calendars import config_for
from server.scheduling.dispatcher import Dispatcher, Fired, Listener, SweepResult
from server.scheduling.handlers import DispatchHandlers
from server.scheduling.ics import calendar_attachments
from server.scheduling.models import Purpose
from server.scheduling.plan import SchedulingConfig
from server.scheduling.store import reconcile_group

log = logging.getLogger("circle.scheduling")

SWEEP_JOB = "circle-dispatch-sweep"
WAKE_JOB = "circle-dispatch-wake"
WAKE_FLOOR = timedelta(milliseconds=20)  # no busy loop on rows another process holds
MAIL_JOB = "circle-mailer"
ROSTER_JOB = "circle-roster-reconcile"
# At start, roster changes this recent are reconciled (made while no process was running, e.g.
# by the CLI); later passes overlap the previous one by ROSTER_OVERLAP (commit-time skew).
ROSTER_LOOKBACK = timedelta(minutes=10)
ROSTER_OVERLAP = timedelta(minutes=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class SchedulingService:
    """Start/stop owner of the sweep and mail jobs. Listeners hear every fired dispatch."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cfg: SchedulingConfig,
        notifier: Notifier,
        *,
        clock: Callable[[], datetime] = _utcnow,
        interval_s: float = 1.0,
        mail_interval_s: float = 5.0,
        roster_interval_s: float = 30.0,
        worker: str | None = None,
        batch: int = 500,
        handlers: DispatchHandlers | None = None,
    ) -> None:
        self.cfg = cfg
        self.notifier = notifier
        self.worker = worker or worker_name()
        self.dispatcher = Dispatcher(
            sessionmaker,
            cfg,
            notifier,
            worker=self.worker,
            batch=batch,
            clock=clock,
            handlers=handlers,
        )
        self.mailer = Mailer(
            sessionmaker,
            notifier,
            worker=self.worker,
            attachments=calendar_attachments(sessionmaker, cfg.public_url),
        )
        self._clock = clock
        self._interval = interval_s
        self._mail_interval = mail_interval_s
        self._listeners: list[Listener] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._sm = sessionmaker
        self._roster_interval = roster_interval_s
        self._roster_since: datetime | None = None
        self._wake_id: str | None = None
        self._wake_seq = 0
        self._sweep_lock = asyncio.Lock()
        self._mail_lock = asyncio.Lock()
        self._roster_lock = asyncio.Lock()
        self.sweeps = 0

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    async def start(self) -> None:
        if self._scheduler is not None:
            return
        sched = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        now = datetime.now(UTC)
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        sched.add_job(
            self._sweep_job,
            "interval",
            seconds=self._interval,
            id=SWEEP_JOB,
            next_run_time=now,
            **common,
        )
        if not self.notifier.immediate:
            sched.add_job(
                self._mail_job,
                "interval",
                seconds=self._mail_interval,
                id=MAIL_JOB,
                next_run_time=now,
                **common,
            )
        sched.add_job(
            self._roster_job,
            "interval",
            seconds=self._roster_interval,
            id=ROSTER_JOB,
            next_run_time=now + timedelta(seconds=self._roster_interval),
            **common,
        )
        sched.start()
        self._scheduler = sched
        log.info("scheduling started (%s, sweep every %.1fs)", self.worker, self._interval)

    async def stop(self) -> None:
        sched, self._scheduler = self._scheduler, None
        if sched is None:
            return
        sched.pause()
        # Let a job that was already handed to the loop see that we are stopping, and an
        # in-flight sweep or send finish its transaction; nothing is cancelled mid-query.
        await asyncio.sleep(0)
        async with self._sweep_lock, self._mail_lock, self._roster_lock:
            sched.shutdown(wait=False)
        log.info("scheduling stopped (%s)", self.worker)

    async def _arm_wake(self) -> None:
        """The interval bounds lateness by its period; a one-shot job at the next due time,
        when that comes before the next interval run, brings it down to the sweep's own cost."""
        sched = self._scheduler
        if sched is None:
            return
        next_due = await self.dispatcher.next_due()
        if next_due is None:
            return
        real_now = datetime.now(UTC)
        clock_now = self._clock()
        at = real_now + max(WAKE_FLOOR, next_due - clock_now)
        if at - real_now >= timedelta(seconds=self._interval):
            return
        # A fresh id each time: APScheduler counts running instances per id, so re-arming the
        # id of the wake job that is running now would make the new one "skipped".
        if self._wake_id is not None:
            with contextlib.suppress(JobLookupError):
                sched.remove_job(self._wake_id)
        self._wake_seq += 1
        self._wake_id = f"{WAKE_JOB}-{self._wake_seq}"
        sched.add_job(
            self._sweep_job, "date", run_date=at, id=self._wake_id, misfire_grace_time=None
        )

    def wake(self) -> None:
        """Sweep now (after a booking or change queued notices)."""
        if self._scheduler is not None:
            job = self._scheduler.get_job(SWEEP_JOB)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    async def sweep(self, now: datetime | None = None) -> SweepResult:
        async with self._sweep_lock:
            result = await self.dispatcher.sweep_once(now)
            self.sweeps += 1
            if self._scheduler is not None and now is None:
                await self._arm_wake()
        for fired in result.fired:
            await self._tell(fired)
        return result

    async def deliver(self, now: datetime | None = None) -> DeliveryResult:
        async with self._mail_lock:
            return await self.mailer.deliver_once(now or self._clock())

    async def reconcile_rosters(self, now: datetime | None = None) -> int:
        """Plan or supersede per-person dispatches of groups whose roster changed recently
        (enrolments made through the groups API). Idempotent: keys are unique."""
        async with self._roster_lock:
            now = now or self._clock()
            since = (
                self._roster_since - ROSTER_OVERLAP
                if self._roster_since is not None
                else now - ROSTER_LOOKBACK
            )
            async with self._sm() as s:
                changed = list(
                    await s.scalars(
                        select(Membership.group_id).where(Membership.updated_at >= since).distinct()
                    )
                )
            for group_id in changed:
                async with self._sm() as s, s.begin():
                    await reconcile_group(s, group_id, await config_for(s, group_id, self.cfg), now)
            self._roster_since = now
            return len(changed)

    async def session_changed(self, session_ids: list[int]) -> None:
        """A coordinator moved or cancelled these sessions (committed): listeners hear it as a
        session-level change notice, so a room running one of them follows at once."""
        now = self._clock()
        for sid in session_ids:
            await self._tell(Fired(f"s{sid}:changed", Purpose.CHANGE_NOTICE, sid, None, now, now))

    async def _tell(self, fired: Fired) -> None:
        for listener in self._listeners:
            try:
                await listener(fired)
            except Exception:
                log.exception("listener failed on %s", fired.key)

    async def _sweep_job(self) -> None:
        if self._scheduler is None:
            return
        try:
            await self.sweep()
        except Exception:
            log.exception("dispatch sweep failed; retrying at the next interval")

    async def _roster_job(self) -> None:
        if self._scheduler is None:
            return
        try:
            await self.reconcile_rosters()
        except Exception:
            log.exception("roster reconciliation failed; retrying at the next interval")

    async def _mail_job(self) -> None:
        if self._scheduler is None:
            return
        try:
            await self.deliver()
        except Exception:
            log.exception("mail delivery failed; retrying at the next interval")
