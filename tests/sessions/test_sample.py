from __future__ import annotations

import csv
import filecmp
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from zenodo_atlas.sessions.ia import OLD_CLASS_COLUMNS, jacques_csv_name, multilabel_csv_name
from zenodo_atlas.sessions.naming import parse_session_name
from zenodo_atlas.sessions.sample import METADATA_COLUMNS, write_sample_annotations, write_sample_session


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_fixture_writes_a_session_named_after_its_platform(sample_session: Path) -> None:
    name = parse_session_name(sample_session.name)
    assert name.platform == "ASV"
    assert sorted(p.name for p in sample_session.iterdir() if p.is_dir()) == [
        "DCIM", "GPS", "METADATA", "PROCESSED_DATA", "SENSORS",
    ]


def test_metadata_csv_has_the_real_columns_and_paths_that_resolve(sample_session: Path) -> None:
    rows = _rows(sample_session / "METADATA" / "metadata.csv")
    assert len(rows) == 40
    assert tuple(rows[0]) == METADATA_COLUMNS
    for row in rows:
        assert row["relative_file_path"].startswith(sample_session.name + "/PROCESSED_DATA/FRAMES/")
        assert (sample_session.parent / row["relative_file_path"]).is_file()
        assert -21.3 < float(row["GPSLatitude"]) < -21.0
        assert 55.2 < float(row["GPSLongitude"]) < 55.4


def test_frames_are_jpegs_carrying_exif_gps_and_time(sample_session: Path) -> None:
    row = _rows(sample_session / "METADATA" / "metadata.csv")[3]
    with Image.open(sample_session.parent / row["relative_file_path"]) as image:
        assert image.format == "JPEG"
        exif = image.getexif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    degrees, minutes, seconds = gps[ExifTags.GPS.GPSLatitude]
    latitude = -(degrees + minutes / 60 + seconds / 3600)
    assert gps[ExifTags.GPS.GPSLatitudeRef] == "S"
    assert latitude == pytest.approx(float(row["GPSLatitude"]), abs=1e-6)
    stamp = row["SubSecDateTimeOriginal"]  # plancha: `2023:10:21 05:30:15.000000000`, no zone
    assert stamp.endswith(".000000000")
    assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == stamp[:19]


def test_dcim_is_padded_to_the_requested_size(sample_sessions) -> None:
    session = sample_sessions(frames=5, dcim_mb=1.5)
    size = sum(p.stat().st_size for p in (session / "DCIM").rglob("*") if p.is_file())
    assert size == 1_500_000


def test_ia_files_use_old_class_names_and_useful_frames(sample_session: Path) -> None:
    name = sample_session.name
    ia = sample_session / "PROCESSED_DATA" / "IA"
    jacques = _rows(ia / jacques_csv_name(name))
    useful = {r["FileName"] for r in jacques if r["Useless"] == "0"}
    scores = _rows(ia / multilabel_csv_name(name, scores=True))
    assert tuple(scores[0])[1:] == OLD_CLASS_COLUMNS
    assert {r["FileName"] for r in scores} == useful
    assert {r["FileName"] for r in _rows(sample_session / "METADATA" / "predictions_gps.csv")} == useful
    assert 0 < len(useful) < 40
    predictions = _rows(ia / multilabel_csv_name(name, scores=False))
    assert {v for r in predictions for k, v in r.items() if k != "FileName"} <= {"0", "1"}


def test_custom_score_columns(sample_sessions) -> None:
    session = sample_sessions(score_columns=["Sand", "Rock"], frames=3)
    scores = _rows(session / "PROCESSED_DATA" / "IA" / multilabel_csv_name(session.name, scores=True))
    assert list(scores[0]) == ["FileName", "Sand", "Rock"]


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    a = write_sample_session(tmp_path / "a", seed=3, frames=6)
    b = write_sample_session(tmp_path / "b", seed=3, frames=6)
    c = write_sample_session(tmp_path / "c", seed=4, frames=6)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert filecmp.cmpfiles(a, b, files, shallow=False)[0] == files
    assert filecmp.cmpfiles(a, c, files, shallow=False)[1]


def test_uav_photos_stay_in_dcim_with_camera_columns(sample_sessions) -> None:
    session = sample_sessions(platform="UAV", frames=4)
    rows = _rows(session / "METADATA" / "metadata.csv")
    assert rows[0]["relative_file_path"] == f"{session.name}/DCIM/DJI_0001.JPG"
    assert rows[0]["Make"] == "DJI"
    assert (session / "00_sample_rawdata_overview.png").is_file()
    assert not (session / "PROCESSED_DATA" / "FRAMES").exists()


def test_explicit_name_and_refusals(tmp_path: Path) -> None:
    session = write_sample_session(tmp_path, name="20150611_REU-St-Gilles_scuba", frames=2)
    assert session == tmp_path / "20150611_REU-St-Gilles_scuba"
    with pytest.raises(FileExistsError, match="not empty"):
        write_sample_session(tmp_path, name="20150611_REU-St-Gilles_scuba", frames=2)
    with pytest.raises(ValueError, match="frames"):
        write_sample_session(tmp_path, frames=0)
    with pytest.raises(ValueError, match="YYYYMMDD"):
        write_sample_session(tmp_path, name="not-a-session")


def test_annotations_file_name_and_values(sample_session: Path, tmp_path: Path) -> None:
    path = write_sample_annotations(sample_session, tmp_path, labels=["Sand", "Rock"])
    assert path.name == "20231120_140000__jdoe__demo_labels.csv"
    rows = _rows(path)
    useful = {r["FileName"] for r in _rows(sample_session / "METADATA" / "predictions_gps.csv")}
    assert rows and {r["FileName"] for r in rows} <= useful
    assert {r["Sand"] for r in rows} | {r["Rock"] for r in rows} <= {"1", "0", "-1"}
    with pytest.raises(ValueError, match="author"):
        write_sample_annotations(sample_session, tmp_path, author="a__b", labels=["Sand"])
