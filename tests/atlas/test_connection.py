import subprocess
import sys
from pathlib import Path

import pytest

from zenodo_atlas.atlas import connection
from zenodo_atlas.atlas.connection import (
    AtlasError,
    AtlasLockedError,
    AtlasNotFoundError,
    ExtensionLoadError,
    MigrationError,
    connect_atlas,
    open_atlas,
    spatial_extension_path,
)
from zenodo_atlas.atlas.migrate import latest_version, migrate, schema_version


def test_open_creates_file_and_folder_with_spatial_loaded(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "atlas.duckdb"
    con = open_atlas(path)
    try:
        assert path.is_file()
        assert con.execute("SELECT ST_AsText(ST_Point(55.2, -21.1))").fetchone()[0] == "POINT (55.2 -21.1)"
        assert schema_version(con) == latest_version()
        # R-tree hits fetch single rows: vector-wide codecs stay off (see atlas.connection)
        assert con.execute("SELECT current_setting('disabled_compression_methods')").fetchone()[0] == "FSST,ALP,ALPRD"
    finally:
        con.close()


def test_extension_comes_from_the_wheel() -> None:
    path = spatial_extension_path()
    assert path.name == "spatial.duckdb_extension"
    assert "duckdb_extension_spatial" in path.parts


def test_read_only_open_of_a_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(AtlasNotFoundError, match="atlas migrate"):
        open_atlas(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_read_only_open_refuses_an_outdated_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = connect_atlas(path)
    migrate(con, target=1)
    con.close()
    with pytest.raises(MigrationError, match="atlas migrate"):
        open_atlas(path, read_only=True)


def test_read_only_open_reads_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "atlas.duckdb"
    open_atlas(path).close()
    con = open_atlas(path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM multilabel_class").fetchone()[0] == 31
    finally:
        con.close()


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("hello, I am not a database\n" * 100)
    with pytest.raises(AtlasError, match=r"not a DuckDB Atlas file|Cannot open"):
        open_atlas(path)


def test_file_held_by_another_process_is_reported_as_locked(tmp_path: Path) -> None:
    path = tmp_path / "atlas.duckdb"
    open_atlas(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "sys.stdin.readline()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(AtlasLockedError, match="another process"):
            open_atlas(path)
    finally:
        holder.communicate("\n", timeout=30)


def test_a_tampered_extension_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "spatial.duckdb_extension"
    fake.write_bytes(spatial_extension_path().read_bytes()[:4096] + b"\0" * 4096)
    monkeypatch.setattr(connection, "spatial_extension_path", lambda: fake)
    with pytest.raises(ExtensionLoadError, match="refused the spatial extension"):
        open_atlas(tmp_path / "atlas.duckdb")


def test_a_passed_signature_check_is_remembered_for_that_exact_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(connection, "_verified", set())
    open_atlas(tmp_path / "atlas.duckdb").close()
    real = connection._identity_text(connection._file_identity(spatial_extension_path()))
    assert connection._verified_marker().read_text() == real  # later processes skip the 0.3-0.5 s check
    fake = tmp_path / "spatial.duckdb_extension"
    fake.write_bytes(spatial_extension_path().read_bytes()[:4096] + b"\0" * 4096)
    monkeypatch.setattr(connection, "spatial_extension_path", lambda: fake)
    with pytest.raises(ExtensionLoadError, match="refused the spatial extension"):
        open_atlas(tmp_path / "other.duckdb")
    assert connection._verified_marker().read_text() == real
