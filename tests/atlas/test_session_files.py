from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from zenodo_atlas.atlas.errors import SessionFileError
from zenodo_atlas.atlas.session_files import best_datetimes, prefixed, read_session

SESSION = "20231021_REU-ST-LEU_ASV-1_01"


def write_metadata(root: Path, rows: list[dict[str, object]]) -> Path:
    (root / "METADATA").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(root / "METADATA" / "metadata.csv", index=False)
    return root


def test_best_datetime_per_row() -> None:
    table = pd.DataFrame({
        "SubSecDateTimeOriginal": ["2023:10:21 09:30:00.250+04:00", "2023:10:21 09:30:05", None, "1970:01:01 00:00:00"],
        "GPSDateTime": [None, "2023:10:21 05:30:05Z", None, "2023:10:21 05:30:15Z"],
        "DateTimeOriginal": ["2023:10:21 09:30:00", "2023:10:21 09:30:05", "2023:10:21 09:30:10", None],
    })
    values, naive = best_datetimes(table)
    assert values.tolist() == [
        pd.Timestamp("2023-10-21 05:30:00.250"),  # offset applied
        pd.Timestamp("2023-10-21 05:30:05"),  # GPS time (UTC) beats a naive local time
        pd.Timestamp("2023-10-21 09:30:10"),  # only a naive time: read as UTC, counted
        pd.Timestamp("2023-10-21 05:30:15"),  # unset camera clock (1970) ignored
    ]
    assert naive == 1


def test_plancha_nanosecond_times_are_read() -> None:
    table = pd.DataFrame({"SubSecDateTimeOriginal": ["2023:10:18 06:12:00.123456789", "2023:10:18 06:12:00.5Z"]})
    values, naive = best_datetimes(table)
    assert values.tolist() == [pd.Timestamp("2023-10-18 06:12:00.123456"), pd.Timestamp("2023-10-18 06:12:00.5")]
    assert naive == 0  # plancha's nanosecond form is GPS time, and a zone


def test_positions_without_a_fix_are_not_valid(tmp_path: Path) -> None:
    root = write_metadata(tmp_path, [
        {"FileName": "a.jpg", "GPSLatitude": -21.1, "GPSLongitude": 55.2, "GPSfix": 1},
        {"FileName": "b.jpg", "GPSLatitude": 0, "GPSLongitude": 0, "GPSfix": 5},
        {"FileName": "c.jpg", "GPSLatitude": None, "GPSLongitude": 55.2, "GPSfix": None},
        {"FileName": "d.jpg", "GPSLatitude": 91, "GPSLongitude": 55.2, "GPSfix": 2},
    ])
    files = read_session(root, SESSION, all_frames=True)
    assert files.frames["valid_gps"].tolist() == [True, False, False, False]
    assert files.frames["file_name"].tolist()[0] == f"{SESSION}_a.jpg"
    assert files.frames["fix"].tolist()[:2] == [1, 5]
    # Predecessor rule: without predictions_gps.csv nor usefulness CSV no frame is useful.
    default = read_session(root, SESSION)
    assert any("no frame is useful" in w for w in default.warnings) and not default.frames["useful"].any()


def test_duplicate_file_names_keep_the_first(tmp_path: Path) -> None:
    root = write_metadata(tmp_path, [{"FileName": "a.jpg"}, {"FileName": "a.jpg"}])
    files = read_session(root, SESSION, all_frames=True)
    assert files.frames["useful"].tolist() == [True, False]
    assert any("duplicate FileName" in w for w in files.warnings)
    assert any("no GPSLatitude" in w for w in files.warnings)


def test_broken_files_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(SessionFileError, match="no METADATA folder"):
        read_session(tmp_path, SESSION)
    root = write_metadata(tmp_path, [{"Name": "a.jpg"}])
    with pytest.raises(SessionFileError, match="lacks column"):
        read_session(root, SESSION)
    (root / "METADATA" / "metadata.csv").write_text("FileName,GPSLatitude,GPSLongitude\na.jpg,1,2\nb.jpg,-21\n")
    with pytest.raises(SessionFileError, match=r"not a readable CSV .*Expected 3 columns, got 2"):
        read_session(root, SESSION)
    (root / "METADATA" / "metadata.csv").write_text("FileName,GPSLatitude\na.jpg,1\n,2\n")
    with pytest.raises(SessionFileError, match="empty FileName on line 3"):
        read_session(root, SESSION)


def test_prefixing_keeps_names_that_already_start_with_the_session() -> None:
    names = pd.Series([f"{SESSION}_1_001.jpeg", "DJI_0001.JPG"])
    assert prefixed(names, SESSION).tolist() == [f"{SESSION}_1_001.jpeg", f"{SESSION}_DJI_0001.JPG"]


def test_sample_session_reads_cleanly(sample_session: Path) -> None:
    files = read_session(sample_session, sample_session.name)
    assert files.warnings == []
    assert files.frames["valid_gps"].all()
    assert files.frames["datetime_utc"].min() == datetime(2023, 10, 21, 5, 30)
    assert [s.path.name.endswith("_scores.csv") for s in files.scores] == [True]
