from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from zenodo_atlas.sessions.ia import jacques_csv_name, multilabel_csv_name
from zenodo_atlas.sessions.layout import check_session, check_sessions, expand_session_paths

META = "METADATA/metadata.csv"


def _edit(path: Path, change) -> None:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    result = change(fields, rows)
    fields, rows = result if result else (fields, rows)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _drop(column: str):
    return lambda fields, rows: ([f for f in fields if f != column], rows)


def _set(line: int, column: str, value: str):
    def change(fields, rows):
        rows[line - 2][column] = value
    return change


def _messages(report, severity: str) -> list[str]:
    return [f"{p.path}: {p.message}" for p in report.problems if p.severity == severity]


def test_a_sample_session_is_clean_and_ready_for_everything(sample_session: Path):
    report = check_session(sample_session)
    assert report.ok and report.problems == []
    assert report.platform == "ASV"
    assert report.missing_for == {"raw": [], "processed": [], "register": []}
    assert report.present_folders == [
        "DCIM", "GPS", "SENSORS", "METADATA", "PROCESSED_DATA/FRAMES", "PROCESSED_DATA/IA",
    ]
    assert META in report.present_files
    assert all(report.ready_for(op) for op in ("raw", "processed", "register"))


@pytest.mark.parametrize("column", ["FileName", "GPSLatitude", "GPSLongitude", "relative_file_path"])
def test_a_missing_required_column_is_an_error(sample_session: Path, column):
    _edit(sample_session / META, _drop(column))
    report = check_session(sample_session)
    assert not report.ok
    assert f"{META}: missing column {column}; add it (see the columns of a sample session)" in _messages(
        report, "error")


def test_a_differently_named_relative_path_column_is_accepted(sample_session: Path):
    def rename(fields, rows):
        for row in rows:
            row["frame_relative_file_path"] = row.pop("relative_file_path")
        return [("frame_relative_file_path" if f == "relative_file_path" else f) for f in fields], rows

    _edit(sample_session / META, rename)
    assert check_session(sample_session).ok


def test_missing_optional_columns_are_warnings(sample_session: Path):
    _edit(sample_session / META, _drop("GPSfix"))
    report = check_session(sample_session)
    assert report.ok
    assert f"{META}: no GPSfix column" in _messages(report, "warning")


def test_no_date_column_of_the_platform_is_an_error(sample_sessions):
    session = sample_sessions(platform="UAV", frames=3, dcim_mb=0)
    _edit(session / META, _drop("DateTimeOriginal"))
    report = check_session(session)
    assert f"{META}: no date column: expected one of DateTimeOriginal" in _messages(report, "error")


def test_unparsable_dates_are_errors_with_line_numbers(sample_session: Path):
    _edit(sample_session / META, _set(4, "SubSecDateTimeOriginal", "21/10/2023 10h"))
    _edit(sample_session / META, _set(7, "SubSecDateTimeOriginal", "2023:13:45 00:00:00Z"))
    errors = _messages(check_session(sample_session), "error")
    assert len(errors) == 1
    assert "2 row(s) have a date that does not parse" in errors[0] and "(line 4, 7)" in errors[0]


def test_empty_dates_are_not_errors(sample_session: Path):
    _edit(sample_session / META, _set(3, "GPSDateTime", ""))
    assert check_session(sample_session).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [("GPSLatitude", "95.1"), ("GPSLatitude", "-90.5"), ("GPSLongitude", "181"), ("GPSLatitude", "north")],
)
def test_coordinates_out_of_range_or_not_numbers_are_errors(sample_session: Path, column, value):
    _edit(sample_session / META, _set(5, column, value))
    errors = _messages(check_session(sample_session), "error")
    assert errors == [f"{META}: 1 row(s) have GPSLatitude/GPSLongitude outside [-90, 90]/[-180, 180] "
                      "or not numbers (line 5)"]


def test_missing_gps_and_null_island_are_warnings(sample_session: Path):
    _edit(sample_session / META, _set(2, "GPSLatitude", ""))
    _edit(sample_session / META, _set(3, "GPSLatitude", "0"))
    _edit(sample_session / META, _set(3, "GPSLongitude", "0.0"))
    report = check_session(sample_session)
    assert report.ok
    warnings = _messages(report, "warning")
    assert f"{META}: 1 row(s) have no GPS position (line 2)" in warnings
    assert f"{META}: 1 row(s) sit at latitude 0, longitude 0 (no fix) (line 3)" in warnings


@pytest.mark.parametrize("value", ["{s}/../../etc/passwd", "/etc/passwd", "{s}/DCIM/../../other/x.jpeg"])
def test_relative_paths_escaping_the_session_are_errors(sample_session: Path, value):
    _edit(sample_session / META, _set(6, "relative_file_path", value.format(s=sample_session.name)))
    errors = _messages(check_session(sample_session), "error")
    assert errors == [f"{META}: 1 row(s) have a relative_file_path that leaves the session "
                      "(absolute or '..') (line 6)"]


def test_absent_frames_duplicates_and_foreign_prefix_are_warnings(sample_session: Path):
    gone = f"{sample_session.name}/PROCESSED_DATA/FRAMES/gone.jpeg"
    _edit(sample_session / META, _set(2, "relative_file_path", gone))
    _edit(sample_session / META, _set(3, "FileName", f"{sample_session.name}_1_001.jpeg"))
    _edit(sample_session / META, _set(4, "relative_file_path", "OTHER/PROCESSED_DATA/FRAMES/" + sorted(
        (sample_session / "PROCESSED_DATA" / "FRAMES").iterdir())[2].name))
    report = check_session(sample_session)
    assert report.ok
    warnings = " | ".join(_messages(report, "warning"))
    assert "1 row(s) point to a file not present in the session (line 2)" in warnings
    assert "1 row(s) repeat a FileName already listed (line 3)" in warnings
    assert f"not starting with {sample_session.name}/ (line 4)" in warnings


def test_many_bad_rows_are_summarised(sample_session: Path):
    def all_bad(fields, rows):
        for row in rows:
            row["GPSLongitude"] = "999"

    _edit(sample_session / META, all_bad)
    errors = _messages(check_session(sample_session), "error")
    assert errors == [f"{META}: 40 row(s) have GPSLatitude/GPSLongitude outside [-90, 90]/[-180, 180] "
                      "or not numbers (line 2, 3, 4, ...)"]


def test_empty_unreadable_and_header_only_csv(sample_session: Path):
    meta = sample_session / META
    meta.write_text("")
    assert f"{META}: is empty: expected a header line" in _messages(check_session(sample_session), "error")
    meta.write_bytes(b"FileName,GPSLatitude\n\xff\xfe\x00bad")
    assert any("cannot be read as a UTF-8 CSV" in m for m in _messages(check_session(sample_session), "error"))
    meta.write_text("FileName,relative_file_path,GPSLatitude,GPSLongitude,GPSDateTime\n")
    report = check_session(sample_session)
    assert report.ok and f"{META}: has a header but no frame rows" in _messages(report, "warning")


def test_predictions_and_usefulness_csv_columns(sample_session: Path):
    name = sample_session.name
    _edit(sample_session / "METADATA" / "predictions_gps.csv", _drop("FileName"))
    _edit(sample_session / "PROCESSED_DATA" / "IA" / jacques_csv_name(name), _drop("Useless"))
    errors = _messages(check_session(sample_session), "error")
    assert "METADATA/predictions_gps.csv: missing column FileName" in errors
    assert f"PROCESSED_DATA/IA/{jacques_csv_name(name)}: missing column Useless" in errors


def test_predictions_for_unknown_frames_are_warnings(sample_session: Path):
    _edit(sample_session / "METADATA" / "predictions_gps.csv", _set(2, "FileName", "nope.jpeg"))
    report = check_session(sample_session)
    assert report.ok
    assert any("name a FileName absent from METADATA/metadata.csv (line 2)" in m
               for m in _messages(report, "warning"))


@pytest.mark.parametrize("value", ["1.5", "-0.1", "high"])
def test_scores_must_be_numbers_between_0_and_1(sample_session: Path, value):
    scores = sample_session / "PROCESSED_DATA" / "IA" / multilabel_csv_name(sample_session.name, scores=True)
    _edit(scores, _set(3, "Sand", value))
    errors = _messages(check_session(sample_session), "error")
    assert errors == [f"PROCESSED_DATA/IA/{scores.name}: 1 row(s) have a score that is not a number "
                      "between 0 and 1 (line 3)"]


def test_scores_need_class_columns(sample_session: Path):
    scores = sample_session / "PROCESSED_DATA" / "IA" / multilabel_csv_name(sample_session.name, scores=True)
    scores.write_text("FileName\nx.jpeg\n")
    assert f"PROCESSED_DATA/IA/{scores.name}: has no class column next to FileName" in _messages(
        check_session(sample_session), "error")


def test_missing_for_each_operation(sample_session: Path):
    name = sample_session.name
    shutil.rmtree(sample_session / "SENSORS")
    shutil.rmtree(sample_session / "PROCESSED_DATA" / "IA")
    report = check_session(sample_session)
    assert report.missing_for == {
        "raw": [],
        "processed": [],
        "register": [
            f"PROCESSED_DATA/IA/{jacques_csv_name(name)}",
            f"PROCESSED_DATA/IA/{multilabel_csv_name(name, scores=True)}",
        ],
    }
    assert f"{sample_session}: no SENSORS: the raw data will go without SENSORS.zip" in _messages(
        report, "warning")
    (sample_session / META).unlink()
    (sample_session / "METADATA" / "predictions_gps.csv").unlink()
    report = check_session(sample_session)
    assert report.missing_for["processed"] == [META]
    assert report.missing_for["register"][0] == META
    assert any("absent, as is the usefulness CSV" in m for m in _messages(report, "warning"))
    assert report.ok and report.ready_for("raw")
    assert not report.ready_for("processed") and not report.ready_for("register")


def test_a_session_without_dcim_cannot_publish_raw(tmp_path: Path):
    session = tmp_path / "20231021_REU-ST-LEU_ASV-1_01"
    (session / "METADATA").mkdir(parents=True)
    report = check_session(session)
    assert report.ok
    assert report.missing_for["raw"] == ["DCIM"]
    warnings = _messages(report, "warning")
    assert f"{session}: no GPS, SENSORS: the raw data will go without GPS.zip, SENSORS.zip" in warnings
    assert f"{session}: no frames (PROCESSED_DATA/FRAMES or DCIM): no frames archive possible" in warnings


def test_bad_names_and_missing_folders_are_errors_not_exceptions(tmp_path: Path):
    odd = tmp_path / "holiday-photos"
    odd.mkdir()
    report = check_session(odd)
    assert not report.ok and report.platform is None
    assert "YYYYMMDD_CCC-Place_PLATFORM-N_NN" in report.errors[0].message
    report = check_session(tmp_path / "20231021_REU-ST-LEU_ASV-1_01")
    assert "does not exist" in report.errors[0].message


def test_a_folder_of_sessions_is_expanded(sample_sessions, tmp_path: Path):
    a = sample_sessions(frames=2, dcim_mb=0)
    b = sample_sessions(platform="UAV", frames=2, dcim_mb=0)
    parent = tmp_path / "all"
    parent.mkdir()
    shutil.move(a, parent / a.name)
    shutil.move(b, parent / b.name)
    (parent / "notes").mkdir()
    assert [p.name for p in expand_session_paths([parent])] == sorted([a.name, b.name])
    reports = check_sessions([parent, tmp_path / "missing"])
    assert [r.ok for r in reports] == [True, True, False]


def test_bad_frame_dates_do_not_block_a_raw_upload(sample_session: Path):
    _edit(sample_session / META, _set(4, "SubSecDateTimeOriginal", "21/10/2023 10h"))
    report = check_session(sample_session)
    assert not report.ok and report.ready_for("raw")
    assert not report.ready_for("processed") and not report.ready_for("register")
