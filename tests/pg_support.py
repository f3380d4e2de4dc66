"""A PostgreSQL server for the tests, and a fresh database on it for each test.

Where the server comes from, in order: PUSTAKA_TEST_POSTGRES (a URL to a database whose user may
create databases); else a server on 127.0.0.1:5432 (trust authentication, user postgres); else a
throwaway cluster started with initdb/pg_ctl (through `runuser -u postgres` when run as root);
else the PostgreSQL tests are skipped with the reason, unless PUSTAKA_REQUIRE_POSTGRES=1 (set by
.ci/run), which turns the skip into a failure.

Each test gets a database named pg_<random> (other people's databases on a shared server are
never touched) that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

_server: str | None = None
_reason = ""
_searched = False


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _throwaway_cluster() -> str | None:
    global _reason
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        _reason = "no server on 127.0.0.1:5432 and initdb/pg_ctl are not installed"
        return None
    folder = Path(tempfile.mkdtemp(prefix="pg_pustaka_"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if not shutil.which("runuser"):
            _reason = "running as root without runuser to start a cluster as postgres"
            return None
        shutil.chown(folder, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    run = [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    if subprocess.run(run, capture_output=True).returncode != 0:
        _reason = "initdb failed"
        return None
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [*prefix, pg_ctl, "-D", str(data), "-o", opts, "-l", str(folder / "log"), "-w"]
    if subprocess.run([*start, "start"], capture_output=True).returncode != 0:
        _reason = "pg_ctl start failed"
        return None

    def stop() -> None:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def server_url() -> str | None:
    """The admin URL of the test server, or None (see `require`)."""
    global _server, _searched, _reason
    if not _searched:
        _searched = True
        given = os.environ.get("PUSTAKA_TEST_POSTGRES", "").strip()
        if given:
            _server = given
        elif _port_open("127.0.0.1", 5432):
            _server = "postgresql://postgres@127.0.0.1:5432/postgres"
        else:
            _server = _throwaway_cluster()
    return _server


def require() -> str:
    """The server's URL; skips the test (fails it under PUSTAKA_REQUIRE_POSTGRES=1) if none."""
    url = server_url()
    if url is None:
        message = f"PostgreSQL tests not run: {_reason}"
        if os.environ.get("PUSTAKA_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (PUSTAKA_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + name))


async def create_database(prefix: str = "pg") -> str:
    admin = require()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(admin, name)


async def drop_database(url: str) -> None:
    admin = require()
    name = urlparse(url).path.lstrip("/")
    conn = await asyncpg.connect(admin)
    try:
        for _ in range(50):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.1)
    finally:
        await conn.close()
