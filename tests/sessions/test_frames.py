from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.frames import (
    parse_exif_datetime,
    parse_fix,
    parse_float,
    relative_path_column,
    summarize_frames,
    useful_frame_names,
)
from zenodo_atlas.sessions.ia import jacques_csv_name
from zenodo_atlas.sessions.session import Session

PLUS4 = timezone(timedelta(hours=4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023:10:21 09:30:00.000+04:00", datetime(2023, 10, 21, 9, 30, tzinfo=PLUS4)),
        ("2023:10:21 09:30:00.5+0400", datetime(2023, 10, 21, 9, 30, 0, 500000, tzinfo=PLUS4)),
        ("2023:10:21 05:30:00Z", datetime(2023, 10, 21, 5, 30, tzinfo=UTC)),
        ("2023:10:21 09:30:00", datetime(2023, 10, 21, 9, 30)),
        ("2023-10-21 09:30:00", datetime(2023, 10, 21, 9, 30)),
        ("2023-10-21T09:30:00-03:30", datetime(2023, 10, 21, 9, 30, tzinfo=timezone(-timedelta(hours=3, minutes=30)))),
        (" 2023:10:21 09:30:00 ", datetime(2023, 10, 21, 9, 30)),
        # plancha-workflow's own form: numpy nanoseconds, no zone
        ("2023:10:18 06:12:00.000000000", datetime(2023, 10, 18, 6, 12)),
        ("2023:10:18 06:12:00.123456789Z", datetime(2023, 10, 18, 6, 12, 0, 123456, tzinfo=UTC)),
    ],
)
def test_exif_dates(text, expected):
    assert parse_exif_datetime(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2023:10:21", "21/10/2023 09:30:00", "2023:02:30 09:30:00", "0000:00:00 00:00:00"]
)
def test_bad_exif_dates(text):
    assert parse_exif_datetime(text) is None


def test_floats():
    assert parse_float(" 1.5 ") == 1.5
    assert parse_float("") is None and parse_float("nan") is None and parse_float(None) is None
    with pytest.raises(ValueError):
        parse_float("north")


def test_fix_codes_written_as_floats_by_plancha():
    assert [parse_fix(v) for v in ("1", "2.0", "5.0", " ", "1.5", "x", "300")] == [1, 2, 5, None, None, None, None]


def test_summary_of_a_sample(sample_session: Path):
    summary = summarize_frames(Session.open(sample_session))
    assert (summary.frames, summary.with_gps) == (40, 40)
    assert sum(summary.fix_counts.values()) == 40
    assert summary.first == datetime(2023, 10, 21, 5, 30)  # plancha writes GPS (UTC) time, zone-less
    assert summary.duration == timedelta(seconds=195)
    assert summary.south < summary.north and summary.west < summary.east
    assert -21.2 < summary.south < -21.1 and 55.2 < summary.west < 55.3
    assert summary.fix_percent(1) == pytest.approx(100 * summary.fix_counts[1] / 40)


def test_summary_skips_bad_and_null_positions(sample_session: Path):
    meta = sample_session / "METADATA" / "metadata.csv"
    lines = meta.read_text().splitlines()
    header = lines[0].split(",")
    lat, lon = header.index("GPSLatitude"), header.index("GPSLongitude")
    for i, (a, b) in zip((1, 2, 3), (("0", "0"), ("north", "55.2"), ("95", "55.2")), strict=True):
        cells = lines[i].split(",")
        cells[lat], cells[lon] = a, b
        lines[i] = ",".join(cells)
    meta.write_text("\n".join(lines) + "\n")
    summary = summarize_frames(Session.open(sample_session))
    assert (summary.frames, summary.with_gps) == (40, 37)
    assert summary.north < 0


def test_summary_without_metadata_is_empty(tmp_path: Path):
    (tmp_path / "20231021_REU-ST-LEU_ASV-1_01").mkdir()
    summary = summarize_frames(Session.open(tmp_path / "20231021_REU-ST-LEU_ASV-1_01"))
    assert summary.frames == 0 and summary.first is None and summary.fix_percent(1) == 0.0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_useful_frames_follow_the_predecessor_rule(tmp_path: Path):
    session = tmp_path / "20231021_REU-ST-LEU_ASV-2_01"
    assert useful_frame_names(session) is None  # neither file: no frame is useful
    jacques = session / "PROCESSED_DATA" / "IA" / jacques_csv_name(session.name)
    _write(jacques, "FileName,Useless,Score\na.jpg,0,0.1\nb.jpg,1,0.9\nc.jpg,0.0,0.2\n")
    assert useful_frame_names(session) == {"a.jpg", "c.jpg"}
    predictions = session / "METADATA" / "predictions_gps.csv"
    _write(predictions, "FileName,GPSLatitude\n")  # header only: the usefulness CSV decides
    assert useful_frame_names(session) == {"a.jpg", "c.jpg"}
    _write(predictions, "FileName,GPSLatitude\nb.jpg,-21.1\n")
    assert useful_frame_names(session) == {"b.jpg"}


def test_useful_frames_name_a_broken_usefulness_csv(tmp_path: Path):
    session = tmp_path / "20231021_REU-ST-LEU_ASV-2_01"
    jacques = session / "PROCESSED_DATA" / "IA" / jacques_csv_name(session.name)
    _write(jacques, "FileName,Score\na.jpg,0.1\n")
    with pytest.raises(SessionError, match="lacks column"):
        useful_frame_names(session)
    _write(jacques, "FileName,Useless\na.jpg,0\nb.jpg,maybe\n")
    with pytest.raises(SessionError, match="'maybe' on line 3"):
        useful_frame_names(session)


def test_relative_path_column_accepts_any_column_containing_the_name():
    assert relative_path_column(["FileName", "new_relative_file_path"]) == "new_relative_file_path"
    assert relative_path_column(["FileName"]) is None and relative_path_column(None) is None
