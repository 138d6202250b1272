"""The server-side commands: ``serve``, ``listen`` (a sound card as a live call) and ``simulate-call``.

``live/cli.py`` parses the flags into :class:`Settings` and calls these; they start the aiohttp app (or a
client of it) and print what a user needs: where to open the page, and where a phone platform points.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import shlex
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from callcoach.audio.decode import probe
from callcoach.live.accounts import FILE_NAME as ACCOUNTS_FILE
from callcoach.live.accounts import Accounts
from callcoach.live.db import database_of
from callcoach.live.errors import UserError
from callcoach.live.model import load_model
from callcoach.live.settings import Settings
from callcoach.web import simulate
from callcoach.web.app import CATALOG, create_app


def with_token(settings: Settings) -> Settings:
    """The settings with an ingest token: the configured one, or one made up for this run (printed)."""
    if settings.ingest_token:
        return settings
    return dataclasses.replace(settings, ingest_token=secrets.token_urlsafe(18))


def account_hint(settings: Settings) -> str:
    """What to do first while the server has no admin account ('' once it has one): the exact command,
    with this server's --data (and --host/--port, which the invite link it prints is made of)."""
    accounts = Accounts(database_of(settings, ACCOUNTS_FILE))
    try:
        if accounts.has_admin():
            return ""
        nobody = not accounts.users()
    finally:
        accounts.close()
    defaults = Settings()
    same = "".join(
        f" {flag} {shlex.quote(str(value))}"
        for flag, value, default in [
            ("--data", settings.data_dir, defaults.data_dir),
            ("--host", settings.host, defaults.host),
            ("--port", settings.port, defaults.port),
        ]
        if value != default
    )
    first = "No accounts yet: create the first admin with" if nobody else "No admin yet: create one with"
    return "\n".join(
        [
            first,
            f"  callcoach user add admin --role admin --invite{same}",
            "  and open the invite link it prints to choose the admin's password.",
        ]
    )


def banner(settings: Settings, hint: str = "") -> str:
    base = f"{settings.host}:{settings.port}"
    token = settings.ingest_token
    return "\n".join(
        [
            f"callcoach: open http://{base}/ in a browser (Ctrl-C stops)",
            f"  recordings from {settings.recordings_dir.resolve()}, live calls kept in {settings.data_dir}",
            "  live calls in (shared token required):",
            f"    Twilio Media Streams   ws://{base}/ingest/twilio?token={token}",
            f"    FreeSWITCH audio fork  ws://{base}/ingest/audiofork?token={token}&mix=stereo&rate=16000",
            f"    Asterisk AudioSocket   {settings.host}:{settings.audiosocket_port} (customer leg), "
            f"{settings.host}:{settings.audiosocket_agent_port} (agent leg)",
            *([hint] if hint else []),
        ]
    )


def serve(settings: Settings) -> int:
    settings = with_token(settings)
    hint = account_hint(settings)  # first: an unreachable --db is said before the model takes seconds to load
    model = load_model(settings.model_dir, settings.decoder_effort)
    web.run_app(
        create_app(settings, model),
        host=settings.host,
        port=settings.port,
        print=lambda _msg: print(banner(settings, hint), flush=True),
    )
    return 0


def listen(settings: Settings, device: str | int | None) -> int:
    settings = with_token(settings)
    model = load_model(settings.model_dir, settings.decoder_effort)
    asyncio.run(_listen(settings, model, device))
    return 0


async def _listen(settings: Settings, model: Any, device: str | int | None) -> None:
    from callcoach.live.soundcard import SoundCardCapture, capture_started, input_format

    channels, rate = input_format(device)
    runner = web.AppRunner(create_app(settings, model))
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    try:
        live = runner.app[CATALOG].start_live(capture_started(channels, settings, device))
        capture = SoundCardCapture(live, asyncio.get_running_loop(), channels, rate, settings)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        with capture.open_stream(device):
            print(
                banner(settings, account_hint(settings)),
                f"\n  capturing {channels} channel(s) at {rate} Hz as a live call",
                flush=True,
            )
            await stop.wait()
        await live.end("completed")
    finally:
        await runner.cleanup()


def simulate_call(
    settings: Settings, path: Path, target: dict[str, str], speed: float, drop_after_s: float | None
) -> int:
    probe(path)  # bad audio is reported before anything connects
    if "twilio" in target:
        run = simulate.twilio(path, settings, _tokened(target["twilio"], settings), speed, drop_after_s)
    elif "audiofork" in target:
        run = simulate.audiofork(path, settings, _tokened(target["audiofork"], settings), speed, drop_after_s)
    else:
        host, _, port = target["audiosocket"].rpartition(":")
        agent_port = int(target.get("agent_port") or int(port) + 1)
        run = simulate.audiosocket(
            path, settings, host or "127.0.0.1", int(port), agent_port, speed, drop_after_s
        )
    try:
        asyncio.run(run)
    except KeyboardInterrupt:
        pass
    except aiohttp.WSServerHandshakeError as exc:
        reason = (
            "the ingest token was refused: pass the server's token with --ingest-token"
            if exc.status == 401
            else exc.message
        )
        raise UserError(f"{exc.request_info.url.with_query(None)} answered {exc.status}: {reason}") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise UserError(f"could not stream the call: {exc}; is `callcoach serve` running there?") from exc
    return 0


def _tokened(url: str, settings: Settings) -> str:
    """``url`` with ``?token=`` added from the settings when it has none."""
    parts = urlsplit(url)
    if "token=" in parts.query or not settings.ingest_token:
        return url
    query = "&".join(q for q in (parts.query, urlencode({"token": settings.ingest_token})) if q)
    return urlunsplit(parts._replace(query=query))
