from __future__ import annotations

from pathlib import Path

import pytest

from zenodo_atlas.sessions.errors import InvalidSessionName, SessionNotFoundError
from zenodo_atlas.sessions.session import Session


def test_open_parses_the_name_and_attaches_the_rules(tmp_path: Path):
    (tmp_path / "20221023_SYC-aldabra-arm06_UAV-02_17").mkdir()
    session = Session.open(str(tmp_path / "20221023_SYC-aldabra-arm06_UAV-02_17"))
    assert session.path == (tmp_path / "20221023_SYC-aldabra-arm06_UAV-02_17").resolve()
    assert session.name.place == "Aldabra-Arm06"
    assert session.rules.platform == "UAV" and session.rules.raw_access_right == "open"
    assert session.metadata_csv == session.path / "METADATA" / "metadata.csv"


def test_open_follows_a_trailing_dot_to_the_real_folder_name(tmp_path: Path):
    (tmp_path / "20231021_REU-ST-LEU_ASV-1_01").mkdir()
    assert Session.open(tmp_path / "20231021_REU-ST-LEU_ASV-1_01" / ".").name.raw == "20231021_REU-ST-LEU_ASV-1_01"


def test_open_refuses_files_missing_folders_and_bad_names(tmp_path: Path):
    (tmp_path / "20231021_REU-ST-LEU_ASV-1_01.zip").write_bytes(b"")
    with pytest.raises(SessionNotFoundError, match="is not a directory"):
        Session.open(tmp_path / "20231021_REU-ST-LEU_ASV-1_01.zip")
    with pytest.raises(SessionNotFoundError, match="does not exist"):
        Session.open(tmp_path / "20231021_REU-ST-LEU_ASV-1_02")
    (tmp_path / "photos").mkdir()
    with pytest.raises(InvalidSessionName, match="'photos'"):
        Session.open(tmp_path / "photos")
