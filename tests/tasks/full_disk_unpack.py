"""Child process: unpack a record's zip while it downloads, while no file may grow past 256 KiB.

RLIMIT_FSIZE makes the writes fail as a full disk does (EFBIG instead of ENOSPC), without mounting
anything. Prints the error. Usage: python -m tests.tasks.full_disk_unpack API_URL RECORD SESSION_DIR JOURNAL
"""

from __future__ import annotations

import asyncio
import resource
import signal
import sys
from pathlib import Path

from zenodo_atlas.errors import one_line
from zenodo_atlas.tasks.transfer import content_url
from zenodo_atlas.tasks.unpack import streaming_unpack, unpack_while_downloading
from zenodo_atlas.zenodo.client import ZenodoClient

LIMIT = 256 * 1024


async def main(api_url: str, record_id: str, session_dir: str, journal: str) -> None:
    async with ZenodoClient(api_url, None, backoff_base=0.01, backoff_max=0.05) as client:
        record = await client.get_record(int(record_id))
        file, url = record.files[0], content_url(record, record.files[0])
        sink = await streaming_unpack(client, url, file, Path(session_dir), None, False, journal=Path(journal))
        assert sink is not None
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
        try:
            await unpack_while_downloading(client, url, file, sink)
        except Exception as exc:
            print(f"{type(exc).__name__}: {one_line(exc)}")
            sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
