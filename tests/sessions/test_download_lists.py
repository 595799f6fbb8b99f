"""The CSV lists the download commands accept, and which files of a session's versions are fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from zenodo_atlas.sessions.download_lists import DownloadListError, frames_from_csv, requests_from_csv
from zenodo_atlas.sessions.zenodo_record import files_to_fetch
from zenodo_atlas.zenodo.models import Record, RecordFile

NAME = "20231021_REU-ST-LEU_ASV-2_01"


def test_session_list_accepts_names_urns_and_doi_urls(tmp_path: Path) -> None:
    listing = tmp_path / "sessions.csv"
    listing.write_text(f"session_name,doi\nurn:{NAME},\n,https://doi.org/10.5281/zenodo.11\n{NAME},\n")
    assert requests_from_csv(str(listing)) == [{"name": NAME}, {"doi": "10.5281/zenodo.11"}, {"name": NAME}]
    listing.write_text("title\nsomething\n")
    with pytest.raises(DownloadListError, match=r"needs column\(s\) session_name or doi, found title"):
        requests_from_csv(str(listing))


def test_frame_list_groups_members_by_version_and_archive(tmp_path: Path) -> None:
    listing = tmp_path / "frames.csv"
    listing.write_text(
        "version_doi,relative_file_path\n"
        f"https://doi.org/10.5281/zenodo.12,{NAME}/PROCESSED_DATA/FRAMES/a.jpg\n"
        f"10.5281/zenodo.12,{NAME}/PROCESSED_DATA/FRAMES/b.jpg\n"
    )
    assert frames_from_csv(str(listing)) == {"10.5281/zenodo.12": {"PROCESSED_DATA_FRAMES.zip": {"a.jpg", "b.jpg"}}}
    listing.write_text("version_doi\n10.5281/zenodo.12\n")
    with pytest.raises(DownloadListError, match="relative_file_path"):
        frames_from_csv(str(listing))


def test_files_carried_over_are_fetched_once_changed_ones_again() -> None:
    def record(record_id: int, *files: tuple[str, str]) -> Record:
        return Record(id=record_id, conceptrecid="1",
                      files=[RecordFile(key=k, size=1, checksum=f"md5:{m}") for k, m in files])

    raw = record(1, ("DCIM.zip", "aa"), ("GPS.zip", "bb"))
    processed = record(2, ("GPS.zip", "bb"), ("DCIM.zip", "cc"), ("METADATA.zip", "dd"))
    chosen = [(r.id, f.key) for r, f in files_to_fetch([processed, raw])]
    assert chosen == [(1, "DCIM.zip"), (1, "GPS.zip"), (2, "DCIM.zip"), (2, "METADATA.zip")]
