"""A PostgreSQL cluster of the test session's own: Debian's binaries, ``initdb`` into a temporary folder,
the server on a free loopback port, stopped and deleted at the end; and a fresh database per test.

Debian keeps the server's binaries out of ``PATH``, in ``/usr/lib/postgresql/<version>/bin``. ``initdb``
and ``postgres`` refuse to run as root, and CI runs the tests as root: then they run as the ``postgres``
account the Debian package makes (``nobody`` without it), in a folder that account owns. Clients connect
over TCP on loopback with ``trust`` authentication: a throwaway cluster that only this machine reaches.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from callcoach.live.db import Target
from tests.helpers.server import free_port

# The ``database`` fixture (tests/conftest.py): a store's SQLite file name -> where the store opens, on
# the backend of this run of the test.
DatabaseAt = Callable[[str], Target]

SUPERUSER = "callcoach"
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
MISSING = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are missing: install Debian's postgresql package "
    "(make setup does, or apt-get install postgresql)"
)
_SERVER_OPTIONS = "-c listen_addresses=127.0.0.1 -c max_connections=200"
# A throwaway cluster: durability is not what the tests measure, so nothing waits for the disk.
_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: Debian's newest version, else whichever ``PATH`` has."""
    versions = sorted(DEBIAN_BINARIES.glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    for folder in [*versions, *([Path(found).parent] if (found := shutil.which("initdb")) else [])]:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


@dataclass
class Cluster:
    """A running cluster: its folder, port and binaries."""

    root: Path
    port: int
    bin: Path
    _run_as: dict[str, Any]
    _names: itertools.count[int]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "test") -> str:
        """A new empty database (its own tables, rows and schema_version); its URL."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (its clients are cut off) and delete the folder."""
        try:
            self.pg_ctl("stop", "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on the cluster's folder, as the account that owns it."""
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), *args],
            check=True,
            capture_output=True,
            **self._run_as,
        )


def start_cluster(*, durable: bool = False) -> Cluster:
    """``initdb`` a new cluster in a temporary folder and start it on a free loopback port, writing to disk
    as PostgreSQL does by default if ``durable`` (for a benchmark), else not waiting for it; raises
    :class:`FileNotFoundError` with :data:`MISSING` when the binaries are not installed."""
    folder = binaries()
    if folder is None:
        raise FileNotFoundError(MISSING)
    # As root, in /tmp itself: the account the server runs as must reach the folder, which a TMPDIR under
    # root's home would not let it (and the socket's path must stay short).
    root = Path(tempfile.mkdtemp(prefix="callcoach-pg-", dir="/tmp" if os.getuid() == 0 else None))
    run_as = _unprivileged(root)
    cluster = Cluster(root, free_port(), folder, run_as, itertools.count(1))
    try:
        _run(folder / "initdb", "-D", root / "data", "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", **run_as)
        options = f"-p {cluster.port} -k {root} {_SERVER_OPTIONS}{'' if durable else ' ' + _FAST}"
        cluster.pg_ctl("start", "-w", "-t", "60", "-l", str(root / "server.log"), "-o", options)
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = (exc.stderr or b"").decode(errors="replace") + (log.read_text() if log.exists() else "")
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"the test PostgreSQL cluster did not start ({exc}):\n{detail}") from exc
    return cluster


def _unprivileged(root: Path) -> dict[str, Any]:
    """How to run the server's binaries: as this user, or as root's stand-in owning ``root``."""
    if os.getuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        account = pwd.getpwnam("nobody")
    os.chown(root, account.pw_uid, account.pw_gid)
    # cwd: the account may not enter the folder the tests run from.
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "cwd": root}


def _run(program: Path, *args: object, **run_as: Any) -> None:
    subprocess.run([str(program), *map(str, args)], check=True, capture_output=True, **run_as)
