from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

import pytest

from zenodo_atlas.sessions.archive import archive_md5, write_archive
from zenodo_atlas.sessions.errors import MemberNotFoundError, SessionError, UnsafeArchiveError
from zenodo_atlas.sessions.extract import (
    EXTRACT_PREFIX,
    archive_destination,
    locate_frame,
    remove_extract_leftovers,
    safe_extract,
)
from zenodo_atlas.sessions.plan import plan_processed, plan_raw
from zenodo_atlas.sessions.session import Session


def _zip(path: Path, entries: list[tuple[str, bytes] | zipfile.ZipInfo]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                z.writestr(entry, b"/etc/passwd")
            else:
                z.writestr(*entry)
    return path


def _everything(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DCIM.zip", "S/DCIM"),
        ("DCIM_p02.zip", "S/DCIM"),
        ("DCIM_p13.zip", "S/DCIM"),
        ("PROCESSED_DATA_IA.zip", "S/PROCESSED_DATA/IA"),
        ("PROCESSED_DATA_FRAMES.zip", "S/PROCESSED_DATA/FRAMES"),
        ("PROCESSED_DATA_CPCE_ANNOTATION.zip", "S/PROCESSED_DATA/CPCE_ANNOTATION"),
        ("METADATA.zip", "S/METADATA"),
        ("GPS.zip", "S/GPS"),
        ("000_S_preview.pdf", "S"),
        ("00_sample_rawdata_overview.png", "S"),
    ],
)
def test_archive_destination(name, expected):
    assert archive_destination(name, Path("S")) == Path(expected)


@pytest.mark.parametrize("name", ["../DCIM.zip", "a/b.zip", "..", "", "x\\y.zip"])
def test_archive_destination_refuses_paths(name):
    with pytest.raises(UnsafeArchiveError):
        archive_destination(name, Path("S"))


def test_round_trip_restores_files_and_gives_the_same_md5(sample_session: Path, tmp_path: Path):
    session = Session.open(sample_session)
    original = plan_processed(session, ["METADATA"])[0]
    zip_path, md5 = write_archive(original, tmp_path / "zips")
    copy = tmp_path / "download" / session.name.raw
    target = archive_destination(original.name, copy)
    extracted = safe_extract(zip_path, target).files
    assert sorted(p.name for p in extracted) == sorted(m.source.name for m in original.members)
    for member in original.members:
        assert (target / member.arcname).read_bytes() == member.source.read_bytes()
    again = plan_processed(Session.open(copy), ["METADATA"])[0]
    assert archive_md5(again) == md5


def test_dcim_parts_extract_side_by_side(sample_session: Path, tmp_path: Path):
    parts = [a for a in plan_raw(Session.open(sample_session), dcim_part_bytes=60_000)[0] if a.folder == "DCIM"]
    assert len(parts) > 1
    copy = tmp_path / sample_session.name
    for part in parts:
        zip_path, _ = write_archive(part, tmp_path / "zips")
        safe_extract(zip_path, archive_destination(part.name, copy))
    assert sorted(p.relative_to(copy / "DCIM") for p in (copy / "DCIM").rglob("*.*")) == sorted(
        p.relative_to(sample_session / "DCIM") for p in (sample_session / "DCIM").rglob("*.*")
    )


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../evil.txt", "climbs out"),
        ("a/../../evil.txt", "climbs out"),
        ("/tmp/evil.txt", "is an absolute path"),
        ("C:/evil.txt", "is an absolute path"),
        ("C:\\evil.txt", "is an absolute path"),
        ("..\\evil.txt", "climbs out"),
    ],
)
def test_escaping_members_are_refused_and_nothing_is_written(tmp_path: Path, member, reason):
    zip_path = _zip(tmp_path / "bad.zip", [("fine.txt", b"ok"), (member, b"evil")])
    target = tmp_path / "out" / "target"
    target.mkdir(parents=True)
    before = _everything(tmp_path)
    with pytest.raises(UnsafeArchiveError, match=re.escape(f"member {member!r} {reason}")):
        safe_extract(zip_path, target)
    assert _everything(tmp_path) == before


def test_symlink_entries_are_refused(tmp_path: Path):
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    zip_path = _zip(tmp_path / "link.zip", [("a.txt", b"a"), link])
    with pytest.raises(UnsafeArchiveError, match="'link' is a symbolic link"):
        safe_extract(zip_path, tmp_path / "out")
    assert not (tmp_path / "out").exists() or _everything(tmp_path / "out") == []


def test_a_symlinked_folder_in_the_target_cannot_be_used_to_escape(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / "hop")
    zip_path = _zip(tmp_path / "hop.zip", [("hop/evil.txt", b"evil")])
    with pytest.raises(UnsafeArchiveError, match="outside the target"):
        safe_extract(zip_path, target)
    assert list(outside.iterdir()) == []


def test_selected_members_only(tmp_path: Path):
    zip_path = _zip(tmp_path / "f.zip", [("a.jpeg", b"a"), ("b.jpeg", b"b"), ("../c.jpeg", b"c")])
    extracted = safe_extract(zip_path, tmp_path / "out", members=["b.jpeg"]).files
    assert extracted == [(tmp_path / "out" / "b.jpeg").resolve()]
    assert _everything(tmp_path / "out") == [tmp_path / "out" / "b.jpeg"]
    with pytest.raises(MemberNotFoundError, match=r"has no member 'zzz\.jpeg'"):
        safe_extract(zip_path, tmp_path / "out", members=["zzz.jpeg"])


def test_directory_entries_become_folders(tmp_path: Path):
    zip_path = _zip(tmp_path / "d.zip", [("empty/", b""), ("x/y.txt", b"y")])
    assert safe_extract(zip_path, tmp_path / "out").files == [(tmp_path / "out" / "x" / "y.txt").resolve()]
    assert (tmp_path / "out" / "empty").is_dir()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("S/PROCESSED_DATA/FRAMES/x.jpeg", ("PROCESSED_DATA_FRAMES.zip", "x.jpeg")),
        ("S/DCIM/GOPRO1/a.JPG", ("DCIM.zip", "GOPRO1/a.JPG")),
        ("S/DCIM/DJI_0001.JPG", ("DCIM.zip", "DJI_0001.JPG")),
        ("S/PROCESSED_DATA/FRAMES/sub/x.jpeg", ("PROCESSED_DATA_FRAMES.zip", "sub/x.jpeg")),
    ],
)
def test_locate_frame(path, expected):
    assert locate_frame(path) == expected


@pytest.mark.parametrize("path", ["x.jpeg", "S/x.jpeg", "S/../DCIM/x.jpeg", "/etc/passwd"])
def test_locate_frame_rejects_odd_paths(path):
    with pytest.raises(SessionError, match="relative_file_path"):
        locate_frame(path)


def test_locate_frame_agrees_with_the_frames_archive(sample_session: Path, tmp_path: Path):
    session = Session.open(sample_session)
    frames = plan_processed(session, ["FRAMES"])[0]
    zip_path, _ = write_archive(frames, tmp_path)
    name = frames.members[3].arcname
    archive, member = locate_frame(f"{session.name.raw}/PROCESSED_DATA/FRAMES/{name}")
    assert archive == zip_path.name
    assert safe_extract(zip_path, tmp_path / "frames", members=[member]).files[0].read_bytes() == \
        frames.members[3].source.read_bytes()


def test_local_edits_are_kept_unless_overwrite(tmp_path: Path):
    zip_path = _zip(tmp_path / "m.zip", [("metadata.csv", b"FileName\na.jpg\n"), ("same.txt", b"same")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "metadata.csv").write_bytes(b"FileName\nedited.jpg\n")
    (out / "same.txt").write_bytes(b"same")
    before = (out / "same.txt").stat().st_mtime_ns
    result = safe_extract(zip_path, out)
    assert result.kept == [(out / "metadata.csv").resolve()]
    assert (out / "metadata.csv").read_bytes() == b"FileName\nedited.jpg\n"
    assert result.files == [(out / "same.txt").resolve()] and (out / "same.txt").stat().st_mtime_ns == before
    forced = safe_extract(zip_path, out, overwrite=True)
    assert forced.kept == [] and (out / "metadata.csv").read_bytes() == b"FileName\na.jpg\n"


def test_leftovers_of_a_killed_extraction_are_removed(tmp_path):
    session = tmp_path / "20231021_REU-ST-LEU_ASV-1_01"
    kept = session / "DCIM" / "frame.jpg"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"frame")
    leftover = session / "DCIM" / f"{EXTRACT_PREFIX}k1ll3d"
    leftover.write_bytes(b"half a frame")

    assert remove_extract_leftovers(session) == [leftover]
    assert not leftover.exists() and kept.read_bytes() == b"frame"
