"""The database behind a benchmark's Prefect server: a throwaway PostgreSQL cluster, or Prefect's SQLite.

Why: the deployment (docker-compose.yml) runs Prefect on PostgreSQL. On SQLite, Prefect's server
answers 503 whenever one of its deferred transactions cannot upgrade to a write because another
connection (often its own event recorders) wrote meanwhile ("database is locked", returned at once,
not after the busy timeout), and Prefect's client retries after 2, 4, 8, 16, 32 s. A benchmark of
many runs at once measures those back-offs, not the flows, unless the server has the deployment's
database. The cluster lives in a temporary folder, on a free loopback port, and is removed after.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from local_zenodo import free_port


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise SystemExit(f"PostgreSQL's {name} is not installed: install postgresql, or run with --prefect-db sqlite")
    return found


@contextlib.contextmanager
def local_postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster (default settings, fsync on) on 127.0.0.1; yields Prefect's connection URL.

    PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` user.
    """
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    if as_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    try:
        run(_postgres_bin("initdb"), "-D", str(data), "-U", "prefect", "--auth=trust", "-E", "UTF8")
        run(_postgres_bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start",
            "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1")
        try:
            run(_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "prefect", "prefect")
            yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect"
        finally:
            run(_postgres_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def prefect_database(kind: str) -> Iterator[None]:
    """Point the Prefect server started inside this block at `kind` ("postgres" or "sqlite", Prefect's default)."""
    if kind == "sqlite":
        yield
        return
    with local_postgres() as url:
        os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = url
        try:
            yield
        finally:
            del os.environ["PREFECT_API_DATABASE_CONNECTION_URL"]
