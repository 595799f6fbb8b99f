"""`upload-sessions` of many small sessions: several at once (the flow as shipped) vs one at a time.

Why: the batch flow used to publish one session after another; most of a small session's time is
round trips (Zenodo, the Prefect API), which overlap when sessions run side by side. The limit is
the same flow, same sessions, same machine, with `ATLAS_PARALLEL_SESSIONS=1`, measured in the same
run. Each measurement gets a fresh local Zenodo (a subprocess, `zenodo-atlas zenodo serve`) so every
session is new to it; the Prefect API is one local server (a subprocess) for the whole run, on the
database the deployment gives it (docker-compose.yml: PostgreSQL, here a throwaway cluster) or, with
--prefect-db sqlite, on Prefect's default SQLite (whose "database is locked" 503s and the client's
2-4-8-16-32 s back-offs then dominate both modes; the bench counts them). The two modes alternate for
--rounds; min/median/max of each are printed, and the speedup of the medians.
Both modes run with the same settings: the client paces itself by the budget the local server
announces (X-RateLimit-Limit, 1000 per minute like zenodo.org's for a token), and each NEW session
waits ATLAS_SEARCH_LAG (5 s) for a search that finds nothing, as it must against zenodo.org; one at
a time, that wait is most of a small session's time, and side by side the waits overlap.
Run: .venv/bin/python bench/upload_sessions.py [--sessions 50] [--rounds 3] [--parallel 8] [--prefect-db postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import re
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from local_zenodo import free_port, local_zenodo, peak_rss_mb
from prefect_database import prefect_database

MODES = ("one-at-a-time", "parallel")
WAITED = re.compile(r"retryable status code (\d+)\. Another attempt will be made in ([0-9.]+)s")


class PrefectBackoffs(logging.Handler):
    """Counts the Prefect client's retries of its own API (its debug note per retry) and the seconds slept."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries: collections.Counter[str] = collections.Counter()
        self.seconds = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        if found := WAITED.search(record.getMessage()):
            self.retries[found[1]] += 1
            self.seconds += float(found[2])

    def take(self) -> str:
        said = f"{dict(self.retries) or 0} slept {self.seconds:.0f} s"
        self.retries.clear()
        self.seconds = 0.0
        return said


def _sessions(root: Path, count: int) -> list[str]:
    from zenodo_atlas.sessions.sample import write_sample_session

    return [
        str(write_sample_session(root, name=f"202310{1 + i // 9:02d}_REU-BENCH_ASV-1_{1 + i % 9:02d}",
                                 frames=4, dcim_mb=0.05, seed=i))
        for i in range(count)
    ]


async def _measure(paths: list[str], parallel: int, work: Path) -> float:
    from zenodo_atlas.flows.upload import upload_sessions

    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(dir=work) as data:
        async with local_zenodo(token, Path(data)) as (api_url, _):
            os.environ |= {"ZENODO_URL": api_url, "ZENODO_TOKEN": token, "ATLAS_PARALLEL_SESSIONS": str(parallel)}
            started = time.perf_counter()
            batch = await upload_sessions(paths, raw=True)
            seconds = time.perf_counter() - started
    if len(batch.succeeded) != len(paths):
        raise SystemExit(f"{len(batch.failed)} session(s) failed: {batch.failed}")
    return seconds


async def main(count: int, rounds: int, parallel: int, database: str) -> None:
    import prefect.client.base
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # The client's retry notes go to a logger of the bench's own (Prefect's logging setup resets its
    # loggers' levels): counted, not printed.
    backoffs = PrefectBackoffs()
    retries_log = logging.getLogger("bench.prefect_api_retries")
    retries_log.setLevel(logging.DEBUG)
    retries_log.propagate = False
    retries_log.addHandler(backoffs)
    prefect.client.base.logger = retries_log
    with tempfile.TemporaryDirectory(prefix="bench-upload-sessions-") as tmp, prefect_database(database):
        work = Path(tmp)
        paths = _sessions(work / "sessions", count)
        server = SubprocessASGIServer(port=free_port())
        server.start(timeout=120)
        try:
            with temporary_settings({PREFECT_API_URL: server.api_url}):
                times: dict[str, list[float]] = {mode: [] for mode in MODES}
                for _ in range(rounds):
                    for mode in MODES:
                        times[mode].append(await _measure(paths, 1 if mode == "one-at-a-time" else parallel, work))
                        print(f"{mode}: {times[mode][-1]:.1f} s (Prefect API retries {backoffs.take()}; "
                              f"load {os.getloadavg()[0]:.2f})", flush=True)
        finally:
            server.stop()
    print(f"sessions={count} rounds={rounds} parallel_sessions={parallel} prefect_db={database} cpus={os.cpu_count()}")
    for mode in MODES:
        runs = times[mode]
        print(f"{mode}_seconds min/median/max={min(runs):.1f}/{statistics.median(runs):.1f}/{max(runs):.1f} "
              f"({statistics.median(runs) / count:.2f} s per session)")
    one, many = times["one-at-a-time"], times["parallel"]
    print(f"speedup_vs_one_at_a_time={statistics.median(one) / statistics.median(many):.2f} "
          f"(of the minimums {min(one) / min(many):.2f})")
    print(f"peak_rss_mb={peak_rss_mb():.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="both modes run once per round, alternated")
    parser.add_argument("--parallel", type=int, default=8, help="ATLAS_PARALLEL_SESSIONS of the parallel mode")
    parser.add_argument("--prefect-db", choices=("postgres", "sqlite"), default="postgres",
                        help="the Prefect server's database: the deployment's PostgreSQL, or Prefect's default SQLite")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-prefect-home-")
    os.environ |= {
        "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING", "ATLAS_WORK_DIR": str(Path(home) / "work"),
        "ATLAS_TOKEN_FILE": str(Path(home) / "no-token-file"),
    }
    asyncio.run(main(max(1, args.sessions), max(1, args.rounds), max(1, args.parallel), args.prefect_db))
