"""Child process of the crash tests: registers a session, then stops dead between commit and checkpoint.

The registration is the real one on a real Atlas file; only the checkpoint that follows the commit is
replaced by a wait, so the parent can SIGKILL this process while the WAL holds the committed rows.
With `rtree`, the frames get the R-tree index Atlases had before schema 6 first (checkpointed), so
the WAL also holds R-tree appends, as an older zenodo-atlas killed at that instant left it.
Usage: python -m tests.atlas.crash_register ATLAS SESSION_DIR CONCEPT_RECID FIRST_RECORD MARKER [rtree]
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


def main(atlas: str, session_dir: str, concept_recid: str, first_record: str, marker: str, *mode: str) -> None:
    session, deposit, md5s = deposit_for(Path(session_dir), concept_recid=concept_recid, first_record=int(first_record))
    con = open_atlas(atlas)
    if mode == ("rtree",):
        con.execute("CREATE INDEX frame_geom_rtree ON frame USING RTREE (geom); CHECKPOINT")

    def stall(_: duckdb.DuckDBPyConnection) -> None:
        Path(marker).write_text("committed")
        threading.Event().wait()

    spatial_index.checkpoint = stall
    register_session(con, session, deposit, archive_md5s=md5s)


if __name__ == "__main__":
    main(*sys.argv[1:])
