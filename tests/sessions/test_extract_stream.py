"""Unpacking a zip while its bytes arrive: same result as `safe_extract`, same refusals, nothing
final before the whole archive is verified, and a resume that continues mid-member."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import stat
import zipfile
from pathlib import Path

import pytest

from zenodo_atlas.sessions.archive import write_archive
from zenodo_atlas.sessions.errors import UnsafeArchiveError
from zenodo_atlas.sessions.extract import (
    EXTRACT_PREFIX,
    StreamExtract,
    archive_destination,
    safe_extract,
)
from zenodo_atlas.sessions.plan import plan_raw
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.zenodo.errors import ChecksumMismatchError


def _infos(data: bytes) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.infolist()


def _zip(entries: list[tuple[str, bytes] | zipfile.ZipInfo], **kwargs) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", **kwargs) as archive:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                archive.writestr(entry, b"/etc/passwd")
            else:
                archive.writestr(*entry)
    return buffer.getvalue()


def _pieces(data: bytes, seed: int = 0) -> list[bytes]:
    """The bytes cut at random places, as a socket delivers them (some pieces a few bytes long)."""
    rng, pieces, at = random.Random(seed), [], 0
    while at < len(data):
        step = rng.choice([1, 7, 29, 512, 4096, 70_000])
        pieces.append(data[at:at + step])
        at += step
    return pieces


def _stream(sink: StreamExtract, data: bytes, seed: int = 0) -> None:
    pieces = _pieces(data, seed)
    for start in range(0, len(pieces), 5):
        assert sink.take(pieces[start:start + 5]) == sum(len(p) for p in pieces[start:start + 5])
    assert sink.md5() == hashlib.md5(data).hexdigest()


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, leftover temporaries aside (tests count those themselves)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(EXTRACT_PREFIX)}


def test_streamed_dcim_equals_the_session_and_safe_extract(sample_session: Path, tmp_path: Path):
    dcim = next(a for a in plan_raw(Session.open(sample_session))[0] if a.folder == "DCIM")
    zip_path, _ = write_archive(dcim, tmp_path / "zips")
    data = zip_path.read_bytes()
    streamed, extracted = tmp_path / "streamed", tmp_path / "extracted"

    sink = StreamExtract.for_archive(_infos(data), dcim.name, archive_destination(dcim.name, streamed))
    assert sink is not None
    _stream(sink, data)
    assert not (streamed / "DCIM").exists() or not any(p.is_file() and not p.name.startswith(EXTRACT_PREFIX)
                                                       for p in (streamed / "DCIM").rglob("*"))
    result = sink.commit()
    safe_extract(zip_path, archive_destination(dcim.name, extracted))

    assert _tree(streamed / "DCIM") == _tree(sample_session / "DCIM") == _tree(extracted / "DCIM")
    assert len(result.files) == len(dcim.members) and result.kept == []
    for member in dcim.members:  # archived times come back, so re-zipping gives the same bytes
        got, expected = streamed / "DCIM" / member.arcname, extracted / "DCIM" / member.arcname
        assert got.stat().st_mtime == expected.stat().st_mtime
    assert not list(streamed.rglob(f"{EXTRACT_PREFIX}*"))


@pytest.mark.parametrize("force_zip64", [False, True])
def test_data_descriptors_and_zip64_sizes_come_from_the_directory(tmp_path: Path, force_zip64: bool):
    """A zip written to a pipe puts sizes after the data (flag bit 3), zip64 in extra fields."""
    members = {"a.bin": os.urandom(70_000), "sub/b.bin": b"", "sub/c.txt": b"c" * 1000}

    class Pipe(io.RawIOBase):  # not seekable: zipfile must use data descriptors
        def __init__(self):
            self.buffer = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.buffer += b
            return len(b)

    pipe = Pipe()
    with zipfile.ZipFile(pipe, "w") as archive:
        for name, content in members.items():
            with archive.open(name, "w", force_zip64=force_zip64) as out:
                out.write(content)
    data = bytes(pipe.buffer)
    assert all(i.flag_bits & 0x8 for i in _infos(data))

    sink = StreamExtract.for_archive(_infos(data), "X.zip", tmp_path / "X")
    assert sink is not None
    _stream(sink, data, seed=3)
    sink.commit()
    assert _tree(tmp_path / "X") == members | {"sub/b.bin": b""}


def test_compressed_archives_do_not_stream(tmp_path: Path):
    data = _zip([("a.txt", b"a" * 100)], compression=zipfile.ZIP_DEFLATED)
    assert StreamExtract.for_archive(_infos(data), "A.zip", tmp_path) is None


@pytest.mark.parametrize(
    ("member", "reason"),
    [("../evil.txt", "climbs out"), ("/tmp/evil.txt", "is an absolute path"), ("C:\\evil.txt", "is an absolute path")],
)
def test_hostile_members_are_refused_before_any_byte(tmp_path: Path, member: str, reason: str):
    data = _zip([("fine.txt", b"ok"), (member, b"evil")])
    with pytest.raises(UnsafeArchiveError, match=re.escape(f"member {member!r} {reason}")):
        StreamExtract.for_archive(_infos(data), "bad.zip", tmp_path / "target")
    assert list(tmp_path.iterdir()) == []


def test_symlink_members_are_refused(tmp_path: Path):
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip([("a.txt", b"a"), link])
    with pytest.raises(UnsafeArchiveError, match="'link' is a symbolic link"):
        StreamExtract.for_archive(_infos(data), "link.zip", tmp_path / "out")


def test_a_local_header_naming_another_file_is_refused(tmp_path: Path):
    """The directory is vetted, so a local header must not smuggle in another name."""
    data = _zip([("good.txt", b"x" * 50)])
    forged = data.replace(b"good.txt", b"evil.txt", 1)  # only the local header (it comes first)
    sink = StreamExtract.for_archive(_infos(data), "F.zip", tmp_path / "F")
    assert sink is not None
    with pytest.raises(ChecksumMismatchError, match="another name in its local header"):
        sink.take([forged])
    sink.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_member_fails_its_crc_and_leaves_nothing(tmp_path: Path):
    payload = os.urandom(10_000)
    data = bytearray(_zip([("ok.bin", b"fine"), ("bad.bin", payload)]))
    data[data.index(payload) + 5000] ^= 0xFF
    sink = StreamExtract.for_archive(_infos(bytes(data)), "C.zip", tmp_path / "C")
    assert sink is not None
    with pytest.raises(ChecksumMismatchError, match=r"'bad\.bin' has CRC-32"):
        sink.take(_pieces(bytes(data)))
    sink.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_cut_resumes_mid_member_and_a_restart_starts_clean(tmp_path: Path):
    big = os.urandom(300_000)
    data = _zip([("first.bin", b"1" * 100), ("big.bin", big), ("last.txt", b"end")])
    sink = StreamExtract.for_archive(_infos(data), "R.zip", tmp_path / "R")
    assert sink is not None
    cut = data.index(big) + 123_456
    sink.take([data[:cut]])
    sink.pause()
    assert sink.resume() == cut  # continues mid-member
    sink.take([data[cut:]])
    assert sink.md5() == hashlib.md5(data).hexdigest()

    sink.restart()  # e.g. the server answered 200 to the Range: everything is taken again
    assert sink.resume() == 0 and not list((tmp_path / "R").rglob(f"{EXTRACT_PREFIX}*"))
    _stream(sink, data, seed=5)
    sink.commit()
    assert _tree(tmp_path / "R") == {"first.bin": b"1" * 100, "big.bin": big, "last.txt": b"end"}


def test_an_incomplete_stream_cannot_commit_and_discard_removes_its_folders(tmp_path: Path):
    data = _zip([("deep/er/a.bin", b"a" * 1000), ("deep/b.bin", b"b" * 1000)])
    sink = StreamExtract.for_archive(_infos(data), "I.zip", tmp_path / "I")
    assert sink is not None
    sink.take([data[:len(data) // 2]])
    with pytest.raises(ChecksumMismatchError, match="ended before member"):
        sink.commit()
    sink.discard()
    assert list(tmp_path.iterdir()) == []


def test_local_edits_are_kept_unless_overwrite(tmp_path: Path):
    data = _zip([("metadata.csv", b"FileName\na.jpg\n"), ("same.txt", b"same")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "metadata.csv").write_bytes(b"FileName\nedited.jpg\n")
    (out / "same.txt").write_bytes(b"same")
    before = (out / "same.txt").stat().st_mtime_ns

    sink = StreamExtract.for_archive(_infos(data), "M.zip", out)
    assert sink is not None
    _stream(sink, data)
    result = sink.commit()
    assert result.kept == [(out / "metadata.csv").resolve()] and result.files == [(out / "same.txt").resolve()]
    assert (out / "metadata.csv").read_bytes() == b"FileName\nedited.jpg\n"
    assert (out / "same.txt").stat().st_mtime_ns == before

    forced = StreamExtract.for_archive(_infos(data), "M.zip", out, overwrite=True)
    assert forced is not None
    _stream(forced, data)
    assert forced.commit().kept == [] and (out / "metadata.csv").read_bytes() == b"FileName\na.jpg\n"


def test_selected_members_only(tmp_path: Path):
    data = _zip([("a.jpeg", b"a"), ("b.jpeg", b"b" * 100), ("c.jpeg", b"c")])
    sink = StreamExtract.for_archive(_infos(data), "F.zip", tmp_path / "out", members=["b.jpeg"])
    assert sink is not None
    _stream(sink, data)
    assert sink.commit().files == [(tmp_path / "out" / "b.jpeg").resolve()]
    assert _tree(tmp_path / "out") == {"b.jpeg": b"b" * 100}


def test_a_killed_run_is_continued_after_its_last_complete_member(tmp_path: Path):
    big = os.urandom(300_000)
    data = _zip([("first.bin", b"1" * 100), ("second.bin", b"2" * 5000), ("big.bin", big), ("sub/last.txt", b"end")])
    infos = {i.filename: i for i in _infos(data)}
    target, journal = tmp_path / "R", tmp_path / "ZIP" / "R.zip.stream"
    target.mkdir()
    (target / "first.bin").write_bytes(b"1" * 100)  # already there: its bytes are read back from it

    killed = StreamExtract.for_archive(_infos(data), "R.zip", target, journal=journal, identity="md5 R")
    assert killed is not None and killed.resume() == 0
    killed.take(_pieces(data[:data.index(big) + 123_456]))
    killed.close()  # the process dies: nothing committed, nothing discarded

    again = StreamExtract.for_archive(_infos(data), "R.zip", target, journal=journal, identity="md5 R")
    assert again is not None
    resumed = again.resume()
    assert resumed == infos["big.bin"].header_offset  # after second.bin, the last complete member
    again.take(_pieces(data[resumed:], seed=1))
    assert again.md5() == hashlib.md5(data).hexdigest()
    result = again.commit()

    assert _tree(target) == {"first.bin": b"1" * 100, "second.bin": b"2" * 5000, "big.bin": big, "sub/last.txt": b"end"}
    assert len(result.files) == 4 and not journal.exists() and not list(journal.parent.iterdir())
    leftovers = list(target.rglob(f"{EXTRACT_PREFIX}*"))  # the killed run's half of big.bin
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == 123_456


def test_a_journal_of_another_archive_starts_from_byte_zero(tmp_path: Path):
    data = _zip([("a.bin", b"a" * 1000), ("b.bin", b"b" * 1000)])
    journal = tmp_path / "ZIP" / "A.zip.stream"
    killed = StreamExtract.for_archive(_infos(data), "A.zip", tmp_path / "A", journal=journal, identity="old md5")
    assert killed is not None and killed.resume() == 0
    killed.take([data[:1500]])
    killed.close()

    other = StreamExtract.for_archive(_infos(data), "A.zip", tmp_path / "A", journal=journal, identity="new md5")
    assert other is not None and other.resume() == 0
    _stream(other, data)
    other.commit()
    assert _tree(tmp_path / "A") == {"a.bin": b"a" * 1000, "b.bin": b"b" * 1000}
