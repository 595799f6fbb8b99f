"""Child process of the crash test: registers a session, then stops dead between commit and checkpoint.

The registration is the real one on a real Atlas file; only the checkpoint that follows the commit is
replaced by a wait, so the parent can SIGKILL this process while the WAL holds the committed rows.
Usage: python -m tests.atlas.crash_register ATLAS SESSION_DIR CONCEPT_RECID FIRST_RECORD MARKER
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import duckdb

from tests.fixtures.atlas import deposit_for
from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.ingest import register_session


def main(atlas: str, session_dir: str, concept_recid: str, first_record: str, marker: str) -> None:
    session, deposit, md5s = deposit_for(Path(session_dir), concept_recid=concept_recid, first_record=int(first_record))
    con = open_atlas(atlas)

    def stall(_: duckdb.DuckDBPyConnection) -> None:
        Path(marker).write_text("committed")
        threading.Event().wait()

    spatial_index.checkpoint = stall
    register_session(con, session, deposit, archive_md5s=md5s)


if __name__ == "__main__":
    main(*sys.argv[1:])
