"""Stream a 2 GiB planned archive and report peak memory: it must stay flat whatever the size.

Sparse files stand in for DCIM videos (no disk space used). The baseline is a plain read of the
same files in the same process; `ratio=` is archive streaming time over that baseline.
Run: .venv/bin/python bench/archive_memory.py [--gib 2]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

from local_zenodo import peak_rss_mb

from zenodo_atlas.sessions.archive import iter_archive
from zenodo_atlas.sessions.plan import folder_members, make_archive

CHUNK = 1 << 20


def _make_files(root: Path, total: int, files: int) -> None:
    each = total // files
    for i in range(files):
        with (root / f"GX{i + 1:06d}.MP4").open("wb") as f:
            f.write(b"\x00\x00\x00\x18ftypmp42")
            f.truncate(each if i < files - 1 else total - each * (files - 1))


def _plain_read(paths: list[Path]) -> tuple[int, float]:
    """The cheapest way to md5 the same bytes: one reused buffer, no archive."""
    start, seen = time.perf_counter(), 0
    digest, buffer = hashlib.md5(), bytearray(CHUNK)
    view = memoryview(buffer)
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])
                seen += n
    return seen, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=2.0, help="archive content size in GiB")
    parser.add_argument("--files", type=int, default=8, help="number of member files")
    args = parser.parse_args()
    total = int(args.gib * (1 << 30))
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        root = Path(tmp) / "DCIM"
        root.mkdir()
        _make_files(root, total, args.files)
        members = folder_members(root)
        archive = make_archive("DCIM.zip", "DCIM", members)
        rss_after_plan = peak_rss_mb()
        _plain_read([m.source for m in members])  # warm the page cache so both runs read alike
        baseline_bytes, baseline_s = _plain_read([m.source for m in members])
        start, streamed, digest = time.perf_counter(), 0, hashlib.md5()
        for chunk in iter_archive(archive, CHUNK):
            digest.update(chunk)
            streamed += len(chunk)
        elapsed = time.perf_counter() - start
    assert streamed == archive.size, f"streamed {streamed} bytes, planned {archive.size}"
    print(f"content_bytes={baseline_bytes}")
    print(f"archive_bytes={archive.size} streamed_bytes={streamed} size_matches=True")
    print(f"plain_read_s={baseline_s:.2f} stream_s={elapsed:.2f}")
    print(f"stream_mib_per_s={streamed / (1 << 20) / elapsed:.0f}")
    print(f"ratio={elapsed / baseline_s:.2f} (archive stream time / plain read time, both with md5)")
    print(f"peak_rss_after_plan_mb={rss_after_plan:.0f}")
    print(f"peak_rss_mb={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
