"""Archives unpacked while they download from the local Zenodo: a cut connection resumes mid-member,
a wrong md5 leaves no final file, a hostile archive is refused before its bytes are fetched, and a
compressed (predecessor) archive takes the download-then-extract path."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.predecessor import _make_archive
from zenodo_atlas.sessions.archive import write_archive
from zenodo_atlas.sessions.errors import UnsafeArchiveError
from zenodo_atlas.sessions.extract import EXTRACT_PREFIX, remove_extract_leftovers
from zenodo_atlas.sessions.plan import plan_raw
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.tasks.transfer import content_url
from zenodo_atlas.tasks.unpack import streaming_unpack, unpack_while_downloading
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import ChecksumMismatchError
from zenodo_atlas.zenodo.models import Creator, DepositMetadata, Record, RecordFile
from zenodo_atlas.zenodo.server import FaultConfig
from zenodo_atlas.zenodo.streams import BytesSource

REPO = Path(__file__).resolve().parents[2]


def _client(server) -> ZenodoClient:
    return ZenodoClient(server.api_url, server.token, backoff_base=0.01, backoff_max=0.05,
                        rate_limit_per_minute=100_000)


async def _publish(server, key: str, data: bytes) -> tuple[Record, RecordFile]:
    metadata = DepositMetadata(title="Zip", creators=[Creator(name="Doe, Jane")], description="Zip.",
                               license="cc-by-4.0")
    async with _client(server) as client:
        draft = await client.create_deposition(metadata)
        await client.upload(draft.bucket_url, key, BytesSource(data))
        record = await client.get_record((await client.publish(draft.id)).id)
    return record, next(f for f in record.files if f.key == key)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


async def _dcim(sample_session: Path, tmp_path: Path) -> bytes:
    dcim = next(a for a in plan_raw(Session.open(sample_session))[0] if a.folder == "DCIM")
    zip_path, _ = write_archive(dcim, tmp_path / "zips")
    return zip_path.read_bytes()


async def test_a_cut_download_resumes_mid_member_and_unpacks_the_record(zenodo_server, sample_session, tmp_path):
    data = await _dcim(sample_session, tmp_path)
    record, file = await _publish(zenodo_server, "DCIM.zip", data)
    out = tmp_path / "back" / sample_session.name
    zenodo_server.set_faults(FaultConfig(cut_downloads=True))
    async with _client(zenodo_server) as client:
        url = content_url(record, file)
        sink = await streaming_unpack(client, url, file, out, None, overwrite=False)
        assert sink is not None
        await client.download_into(url, sink, size=file.size, md5=file.md5)
        result = sink.commit()
    zenodo_server.set_faults(None)

    assert _files(out / "DCIM") == _files(sample_session / "DCIM") and result.kept == []
    gets = [r for r in zenodo_server.request_log if r.method == "GET" and r.path.endswith("/DCIM.zip/content")]
    whole = [r for r in gets if r.range is None]
    assert [r.status for r in whole] == [0]  # the one whole-file GET was cut
    resumed = int(gets[-1].range.removeprefix("bytes=").rstrip("-"))
    members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    inside = [m for m in members if m.header_offset + 30 + len(m.orig_filename) < resumed
              < m.header_offset + 30 + len(m.orig_filename) + m.compress_size]
    assert gets[-1].status == 206 and len(inside) == 1  # continued mid-member, not from byte 0
    assert not list(out.rglob(f"{EXTRACT_PREFIX}*"))


async def test_a_wrong_md5_leaves_no_final_file(zenodo_server, sample_session, tmp_path):
    data = await _dcim(sample_session, tmp_path)
    record, file = await _publish(zenodo_server, "DCIM.zip", data)
    out = tmp_path / "back" / sample_session.name
    async with _client(zenodo_server) as client:
        url = content_url(record, file)
        sink = await streaming_unpack(client, url, file, out, None, overwrite=False)
        assert sink is not None
        with pytest.raises(ChecksumMismatchError, match="md5 of the downloaded bytes"):
            await client.download_into(url, sink, size=file.size, md5="0" * 32, max_attempts=2)
        assert _files(tmp_path / "back") == {}  # not a member under its name, not a temporary
        sink.discard()
    assert not (tmp_path / "back").exists()


async def test_a_hostile_archive_is_refused_before_its_bytes_are_fetched(zenodo_server, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", b"ok")
        archive.writestr("../../escaped.txt", b"outside")
    record, file = await _publish(zenodo_server, "METADATA.zip", buffer.getvalue())
    out = tmp_path / "back" / "S"
    async with _client(zenodo_server) as client:
        with pytest.raises(UnsafeArchiveError, match="climbs out"):
            await streaming_unpack(client, content_url(record, file), file, out, None, overwrite=False)
    # the server logs a request once it has answered, which its thread may do after the client read the bytes
    await asyncio.to_thread(zenodo_server.wait_for, "GET", "file_download")
    gets = [r for r in zenodo_server.request_log if r.method == "GET" and r.path.endswith("/content")]
    assert gets and all(r.range is not None for r in gets)  # only the central directory was read
    assert not (tmp_path / "back").exists()


async def test_compressed_predecessor_archives_take_the_extract_path(zenodo_server, sample_session, tmp_path):
    dcim = _make_archive(sample_session / "DCIM", tmp_path, "DCIM")  # as the predecessor zipped it: deflated
    record, file = await _publish(zenodo_server, "DCIM.zip", dcim.read_bytes())
    async with _client(zenodo_server) as client:
        sink = await streaming_unpack(client, content_url(record, file), file, tmp_path / "S", None, overwrite=False)
    assert sink is None


async def test_a_full_disk_names_the_folder_and_the_next_run_continues(zenodo_server, tmp_path):
    members = {"a.bin": os.urandom(100_000), "b.bin": os.urandom(400_000), "c.bin": b"c" * 10}  # b > the limit
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    data = buffer.getvalue()
    record, file = await _publish(zenodo_server, "GPS.zip", data)
    session, journal = tmp_path / "S", tmp_path / "S" / "ZIP" / "GPS.zip.stream"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.tasks.full_disk_unpack", zenodo_server.api_url, str(record.id), str(session),
        str(journal), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    line = out.decode()

    assert child.returncode == 1, err.decode()
    assert line.startswith(f"DiskFullError: File too large writing {(session / 'GPS').resolve()}: it needs "), line
    assert f"({len(data)} in all, " in line and journal.exists() and not (session / "GPS" / "a.bin").exists()
    async with _client(zenodo_server) as client:  # the next run continues after a.bin
        url = content_url(record, file)
        sink = await streaming_unpack(client, url, file, session, None, overwrite=False, journal=journal)
        assert sink is not None
        await unpack_while_downloading(client, url, file, sink)
    assert len(remove_extract_leftovers(session)) == 1  # the half of b.bin the full disk cut (the flow removes it)
    assert _files(session / "GPS") == members and not journal.exists()
    resumed = [r.range for r in zenodo_server.request_log if r.path.endswith("/GPS.zip/content") and r.range
               and r.range.endswith("-")]
    b_header = next(i for i in zipfile.ZipFile(io.BytesIO(data)).infolist() if i.filename == "b.bin").header_offset
    assert resumed == [f"bytes={b_header}-"]
