"""Child process: download a record's file while no file may grow past 256 KiB.

RLIMIT_FSIZE makes the writes fail as a full disk does (EFBIG instead of ENOSPC), without mounting
anything. Prints the error the download raised. Usage: python -m tests.zenodo.full_disk_download API_URL RECORD DEST
"""

from __future__ import annotations

import asyncio
import resource
import signal
import sys
from pathlib import Path

from zenodo_atlas.errors import one_line
from zenodo_atlas.zenodo.client import ZenodoClient

LIMIT = 256 * 1024


async def main(api_url: str, record_id: str, dest: str) -> None:
    async with ZenodoClient(api_url, None, backoff_base=0.01, backoff_max=0.05) as client:
        record = await client.get_record(int(record_id))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
        try:
            await client.download_record_file(record, record.files[0].key, Path(dest))
        except Exception as exc:
            print(f"{type(exc).__name__}: {one_line(exc)}")
            sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
