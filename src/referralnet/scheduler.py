"""Scheduled work (APScheduler 3): referral sweeps and notification delivery.

It runs inside the app's lifespan, or alone as ``referralnet worker``. Several instances may run
it at once: on PostgreSQL an advisory lock lets one sweep run at a time, on SQLite a lease row
does; and every sweep claims its rows with conditional updates in any case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import AsyncIterator

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from piccolo.engine.postgres import PostgresEngine

from referralnet.clock import Clock
from referralnet.db import current_engine
from referralnet.referrals.sweeps import run_referral_sweeps
from referralnet.settings import Settings
from referralnet.tables import SweepLock

log = logging.getLogger(__name__)
SWEEP_LOCK_KEY = 0x72656677  # "refw"
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@contextlib.asynccontextmanager
async def exclusive(name: str, now: dt.datetime, lease: dt.timedelta) -> AsyncIterator[bool]:
    """Yields True when this process holds the sweep ``name``; False when another one does."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        async with engine.pool.acquire() as conn:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", SWEEP_LOCK_KEY, name)
            try:
                yield bool(got)
            finally:
                if got:
                    await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", SWEEP_LOCK_KEY, name)
        return
    await SweepLock.insert(SweepLock(name=name)).on_conflict(action="DO NOTHING")
    got = await SweepLock.update({SweepLock.holder: WORKER_ID, SweepLock.until: now + lease}).where(
        SweepLock.name == name, (SweepLock.until.is_null()) | (SweepLock.until < now) | (SweepLock.holder == WORKER_ID)
    ).returning(SweepLock.id)
    try:
        yield bool(got)
    finally:
        if got:
            await SweepLock.update({SweepLock.until: None, SweepLock.holder: None}).where(
                SweepLock.name == name, SweepLock.holder == WORKER_ID
            )


async def run_once(settings: Settings, clock: Clock) -> None:
    """One round: expire, remind, then deliver notifications. Errors are logged, never raised."""
    from referralnet.notifications.dispatch import dispatch_due

    now = clock.now()
    lease = dt.timedelta(seconds=max(60, settings.sweep_interval_seconds * 4))
    try:
        async with exclusive("referrals", now, lease) as mine:
            if mine:
                report = await run_referral_sweeps(now, settings)
                if report.expired or report.reminded or report.capacity_reminders:
                    log.info("sweep: %s", report)
        await dispatch_due(settings, clock.now(), worker_id=WORKER_ID)
    except Exception:  # noqa: BLE001 - a failed round must not stop the scheduler
        log.exception("scheduled sweep failed")


RETENTION_INTERVAL_SECONDS = 3600


async def run_retention(settings: Settings, clock: Clock) -> None:
    """Erase the free text of referrals past the retention period (referrals/retention.py); errors are logged."""
    from referralnet.referrals.retention import purge_due

    now = clock.now()
    try:
        async with exclusive("retention", now, dt.timedelta(seconds=RETENTION_INTERVAL_SECONDS)) as mine:
            if mine:
                purged = await purge_due(now, settings, batch=1000)
                if purged:
                    log.info("retention: free text of %s referral(s) erased", purged)
    except Exception:  # noqa: BLE001 - a failed round must not stop the scheduler
        log.exception("retention sweep failed")


def build_scheduler(settings: Settings, clock: Clock) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=dt.timezone.utc)
    scheduler.add_job(
        run_once,
        "interval",
        seconds=settings.sweep_interval_seconds,
        args=[settings, clock],
        id="sweeps",
        max_instances=1,
        coalesce=True,
        next_run_time=dt.datetime.now(dt.timezone.utc),
    )
    scheduler.add_job(
        run_retention,
        "interval",
        seconds=RETENTION_INTERVAL_SECONDS,
        args=[settings, clock],
        id="retention",
        max_instances=1,
        coalesce=True,
        next_run_time=dt.datetime.now(dt.timezone.utc),
    )
    return scheduler
