from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zenodo_atlas.sessions.archive import archive_md5, iter_archive, write_archive
from zenodo_atlas.sessions.errors import ArchiveChangedError
from zenodo_atlas.sessions.plan import folder_members, make_archive, plain_file, plan_processed, plan_raw
from zenodo_atlas.sessions.session import Session

UNZIP = shutil.which("unzip")


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_stream_has_the_planned_length_in_exact_chunks(sample_session: Path):
    archive = plan_raw(Session.open(sample_session))[0][1]
    chunks = list(iter_archive(archive, chunk_size=100_000))
    assert sum(map(len, chunks)) == archive.size
    assert all(len(c) == 100_000 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 100_000


def test_zip_holds_the_files_stored(tmp_path: Path):
    files = {"a.txt": b"alpha", "sub/b.bin": bytes(range(256)) * 10, "sub/deeper/c": b""}
    _tree(tmp_path / "F", files)
    archive = make_archive("F.zip", "F", folder_members(tmp_path / "F"))
    with zipfile.ZipFile(io.BytesIO(b"".join(iter_archive(archive)))) as z:
        assert {i.filename: z.read(i) for i in z.infolist()} == files
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}


def test_md5_is_stable_across_plans_and_matches_the_written_file(sample_session: Path, tmp_path: Path):
    session = Session.open(sample_session)
    first = plan_processed(session, ["METADATA"])[0]
    again = plan_processed(Session.open(sample_session), ["METADATA"])[0]
    path, md5 = write_archive(first, tmp_path / "out")
    assert md5 == archive_md5(again) == hashlib.md5(path.read_bytes()).hexdigest()
    assert path.stat().st_size == first.size
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["METADATA.zip"]


def test_plain_files_stream_as_they_are(sample_session: Path):
    pdf = next(sample_session.glob("*.pdf"))
    archive = plain_file(pdf)
    assert b"".join(iter_archive(archive, 1000)) == pdf.read_bytes()
    assert archive_md5(archive) == hashlib.md5(pdf.read_bytes()).hexdigest()


def test_a_member_changed_after_planning_is_reported(tmp_path: Path):
    _tree(tmp_path / "F", {"a": b"1234", "b": b"5678"})
    archive = make_archive("F.zip", "F", folder_members(tmp_path / "F"))
    (tmp_path / "F" / "b").write_bytes(b"longer content")
    with pytest.raises(ArchiveChangedError, match=r"F.zip: .*b is 14 bytes, planned 4; plan again"):
        list(iter_archive(archive))
    (tmp_path / "F" / "b").unlink()
    with pytest.raises(ArchiveChangedError, match="no longer readable"):
        write_archive(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_chunk_size_must_be_positive(tmp_path: Path):
    _tree(tmp_path / "F", {"a": b"1"})
    archive = make_archive("F.zip", "F", folder_members(tmp_path / "F"))
    with pytest.raises(ValueError, match="chunk_size"):
        next(iter_archive(archive, 0))


_names = st.text(alphabet="abcXYZ019_-.é ", min_size=1, max_size=12).filter(
    lambda s: s.strip(" .") == s and s not in (".", "..") and not s.startswith(".")
)
_trees = st.dictionaries(
    st.lists(_names, min_size=1, max_size=3).map(tuple),
    st.binary(max_size=3000),
    min_size=1,
    max_size=12,
).filter(
    # no path may be both a file and a folder
    lambda t: not any(a != b and b[: len(a)] == a for a in t for b in t)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees, chunk=st.integers(min_value=1, max_value=5000))
def test_property_stream_length_content_and_md5(tree, chunk):
    files = {"/".join(parts): data for parts, data in tree.items()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "F"
        _tree(root, files)
        archive = make_archive("F.zip", "F", folder_members(root))
        streamed = b"".join(iter_archive(archive, chunk))
        assert len(streamed) == archive.size
        assert archive_md5(archive) == hashlib.md5(streamed).hexdigest()
        with zipfile.ZipFile(io.BytesIO(streamed)) as z:
            assert z.testzip() is None
            assert {i.filename: z.read(i) for i in z.infolist()} == files
        if UNZIP:
            zip_path = Path(tmp) / "F.zip"
            zip_path.write_bytes(streamed)
            result = subprocess.run([UNZIP, "-tqq", str(zip_path)], capture_output=True, check=False)
            assert result.returncode == 0, result.stdout + result.stderr


def test_links_inside_are_followed_outside_never_and_loops_end(tmp_path: Path):
    secret = tmp_path / "outside.txt"
    secret.write_bytes(b"secret")
    root = tmp_path / "session"
    _tree(root, {"F/a.txt": b"a", "G/b.txt": b"b"})
    (root / "F" / "to_b.txt").symlink_to(root / "G" / "b.txt")
    (root / "F" / "to_g").symlink_to(root / "G", target_is_directory=True)
    (root / "F" / "loop").symlink_to(root / "F", target_is_directory=True)
    (root / "F" / "secret.txt").symlink_to(secret)
    (root / "F" / "away").symlink_to(tmp_path, target_is_directory=True)
    (root / "F" / "broken").symlink_to(root / "nowhere")

    members = {m.arcname: m.source.read_bytes() for m in folder_members(root / "F", root=root)}

    assert members == {"a.txt": b"a", "to_b.txt": b"b", "to_g/b.txt": b"b"}
    assert {m.arcname for m in folder_members(root / "F")} == {"a.txt"}  # default: nothing leaves F
