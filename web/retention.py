"""The running server's retention: with ``--retention-days N`` (``CALLCOACH_RETENTION_DAYS``), the stored
calls saved more than N days ago are purged as ``callcoach purge --older-than Nd`` does, once at start
and then every 24 hours, and leave the call list, so open pages see it change.

The first purge runs before the server answers anyone, so an expired call is never served; the blocking
work runs in the executor. A purge that fails is logged and tried again the next day: retention is never
a reason for the server to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from callcoach.live.catalog import CallCatalog
from callcoach.live.db import database_of
from callcoach.live.retention import purge_calls
from callcoach.live.settings import Settings
from callcoach.live.storage import FILE_NAME as CALLS_FILE
from callcoach.live.storage import Storage
from callcoach.web.audit_routes import AUDIT

log = logging.getLogger(__name__)
PERIOD_S = 24 * 3600.0
ACTOR = "retention"  # the `user` of its entries in the audit trail


def setup_retention(app: web.Application, settings: Settings, catalog: web.AppKey[CallCatalog]) -> None:
    """Purge at start and daily, when ``settings.retention_days`` is set; ``catalog`` is the app's key of
    the call catalog (started before this, so its stored calls are loaded when the first purge runs)."""
    days = settings.retention_days
    if days is None:
        return

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        # Its own connection to the calls' database, which orders it with the catalog's writes.
        storage = Storage(database_of(settings, CALLS_FILE), settings.data_dir / "recordings")

        async def purge() -> None:
            await _purge(app, storage, days, app[catalog])

        await purge()
        daily = asyncio.create_task(_every(PERIOD_S, purge), name="retention")
        yield
        daily.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await daily
        storage.close()

    app.cleanup_ctx.append(ctx)


async def _every(period_s: float, job: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(period_s)
        await job()


async def _purge(app: web.Application, storage: Storage, days: int, catalog: CallCatalog) -> None:
    run = functools.partial(
        purge_calls,
        storage,
        app[AUDIT].trail,
        older_than_s=days * 86400.0,
        now_s=time.time(),
        actor=ACTOR,
        why=f"--retention-days {days}",
    )
    try:
        purged = await asyncio.get_running_loop().run_in_executor(None, run)
    except Exception:
        log.exception("retention: the purge of calls older than %d days failed; next try in 24 h", days)
        return
    for call in purged:
        catalog.remove(call.call_id)
    if purged:
        calls = f"{len(purged)} call{'' if len(purged) == 1 else 's'}"
        print(f"callcoach: retention: deleted {calls} saved over {days} days ago", flush=True)
