"""Child process: register a session in an Atlas whose file may not grow past its current size + a little.

RLIMIT_FSIZE makes DuckDB's writes fail as a full disk does (EFBIG instead of ENOSPC), without mounting
anything. Prints the error the registration raised. Usage: python -m tests.atlas.full_disk_register ATLAS SESSION
"""

from __future__ import annotations

import resource
import signal
import sys
from pathlib import Path

from tests.fixtures.atlas import deposit_for
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.ingest import register_session


def main(atlas: str, session_dir: str) -> None:
    session, deposit, md5s = deposit_for(Path(session_dir))
    con = open_atlas(atlas)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    limit = 64 * 1024  # the WAL (a new file) cannot hold the transaction
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        register_session(con, session, deposit, archive_md5s=md5s)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}".splitlines()[0])
        sys.exit(1)


if __name__ == "__main__":
    main(*sys.argv[1:])
