from __future__ import annotations

import csv
from pathlib import Path

import pytest

from zenodo_atlas.sessions.archive import iter_archive
from zenodo_atlas.sessions.errors import PlanError, RecordTooLargeError, RestrictedFolderError
from zenodo_atlas.sessions.plan import (
    FRAMES,
    folders_from_letters,
    natural_key,
    plan_custom,
    plan_processed,
    plan_raw,
)
from zenodo_atlas.sessions.platforms import KNOWN_PLATFORMS, rules_for
from zenodo_atlas.sessions.session import Session

ALL_PROCESSED = "fmgbipc"


def _streamed_length(archive) -> int:
    return sum(len(chunk) for chunk in iter_archive(archive))


def _rewrite_csv(path: Path, change) -> None:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    fields, rows = change(fields, rows)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _small(sample_sessions, **kwargs) -> Session:
    kwargs.setdefault("frames", 6)
    kwargs.setdefault("dcim_mb", 0.05)
    return Session.open(sample_sessions(**kwargs))


def test_raw_plan_of_an_asv_session(sample_session: Path):
    session = Session.open(sample_session)
    versions = plan_raw(session)
    assert len(versions) == 1
    archives = versions[0]
    assert [a.name for a in archives] == ["GPS.zip", "DCIM.zip", "SENSORS.zip"]
    gps = archives[0]
    assert [m.arcname for m in gps.members] == [
        f"BASE/{session.name.raw}_base.o", f"DEVICE/{session.name.raw}_device.gpx",
    ]
    dcim = archives[1]  # plancha's layout: the GoPro chapters at the DCIM root
    assert [m.arcname for m in dcim.members] == [f"GX0{c}0001.MP4" for c in range(1, 5)]
    sensors = archives[2]
    assert f"{session.name.raw}_mission_récif.waypoints" in [m.arcname for m in sensors.members]
    assert f"logs/{session.name.raw}_flight.bin" in [m.arcname for m in sensors.members]
    for archive in archives:
        assert archive.size == _streamed_length(archive)


def test_raw_gps_keeps_only_the_predecessor_selection(sample_session: Path):
    gps = sample_session / "GPS"
    for rel in ("DEVICE/rinex.zip", "DEVICE/notes.txt", "BASE/base2.zip", "BASE/deep/x.o", "BASE/x.O"):
        (gps / rel).parent.mkdir(parents=True, exist_ok=True)
        (gps / rel).write_text("x")
    names = [m.arcname for m in plan_raw(Session.open(sample_session))[0][0].members]
    assert "DEVICE/rinex.zip" in names and "BASE/base2.zip" in names and "BASE/x.O" in names
    assert not any(n.endswith((".txt", ".pos")) or n.startswith("BASE/deep") for n in names)


def test_dcim_is_split_at_the_part_bound_with_natural_names(sample_sessions):
    session = _small(sample_sessions, frames=30, dcim_mb=0)
    whole = plan_raw(session)[0][1]
    bound = whole.size / 3.5
    parts = [a for a in plan_raw(session, dcim_part_bytes=bound)[0] if a.folder == "DCIM"]
    assert [p.name for p in parts] == ["DCIM.zip", "DCIM_p02.zip", "DCIM_p03.zip", "DCIM_p04.zip"]
    assert all(p.size <= bound for p in parts)
    assert [m for p in parts for m in p.members] == list(whole.members)
    for part in parts:
        assert part.size == _streamed_length(part)


def test_a_file_larger_than_the_part_bound_gets_a_part_of_its_own(sample_sessions):
    session = _small(sample_sessions, frames=3, dcim_mb=0.2)
    parts = [a for a in plan_raw(session, dcim_part_bytes=30_000)[0] if a.folder == "DCIM"]
    assert all(len(p.members) == 1 and p.size > 30_000 for p in parts)
    assert [p.name for p in parts] == ["DCIM.zip", "DCIM_p02.zip", "DCIM_p03.zip", "DCIM_p04.zip"]


def test_raw_over_the_record_bound_becomes_several_versions(sample_sessions):
    session = _small(sample_sessions, frames=30, dcim_mb=0.1)
    one = plan_raw(session, dcim_part_bytes=20_000)[0]
    record = max(a.size for a in one) * 2.2
    versions = plan_raw(session, dcim_part_bytes=20_000, record_bytes=record)
    assert len(versions) > 1
    assert all(sum(a.size for a in v) <= record for v in versions)
    assert [a for v in versions for a in v] == one


def test_raw_versions_also_respect_the_file_count(sample_sessions):
    session = _small(sample_sessions, frames=30, dcim_mb=0.1)
    versions = plan_raw(session, dcim_part_bytes=5_000, max_files=2)
    assert len(versions) > 2 and all(len(v) <= 2 for v in versions)


def test_an_archive_larger_than_a_record_is_refused(sample_sessions):
    session = _small(sample_sessions, dcim_mb=0.2)
    with pytest.raises(RecordTooLargeError, match=r"DCIM.zip is .* more than a Zenodo record holds"):
        plan_raw(session, record_bytes=100_000)


def test_uav_raw_has_metadata_and_the_overview_png(sample_sessions):
    session = _small(sample_sessions, platform="UAV")
    archives = plan_raw(session)[0]
    assert [a.name for a in archives] == ["DCIM.zip", "METADATA.zip", "GPS.zip", "00_sample_rawdata_overview.png"]
    png = archives[-1]
    assert not png.zipped and png.size == (session.path / png.name).stat().st_size


def test_raw_with_nothing_to_publish_is_an_error(tmp_path: Path):
    empty = tmp_path / "20231021_REU-ST-LEU_ASV-1_01"
    empty.mkdir()
    with pytest.raises(PlanError, match="nothing to publish as raw data"):
        plan_raw(Session.open(empty))


@pytest.mark.parametrize("platform", KNOWN_PLATFORMS)
def test_restricted_folders_never_enter_a_processed_plan(sample_sessions, platform):
    session = _small(sample_sessions, platform=platform)
    archives = plan_processed(session, folders_from_letters(ALL_PROCESSED, "processed"), all_frames=True)
    restricted = [session.path / folder for folder in rules_for(platform).restricted_folders]
    for archive in archives:
        assert not rules_for(platform).is_restricted(archive.folder)
        for member in archive.members:
            assert not any(member.source.is_relative_to(r) for r in restricted), member.source
    for folder in rules_for(platform).restricted_folders:
        with pytest.raises(RestrictedFolderError, match=f"{folder} is restricted for {platform}"):
            plan_processed(session, [folder])
        with pytest.raises(RestrictedFolderError):
            plan_processed(session, [f"{folder}/GOPRO1"])


@pytest.mark.parametrize("platform", ["UAV", "UVC"])
def test_open_platforms_may_publish_dcim_as_processed(sample_sessions, platform):
    session = _small(sample_sessions, platform=platform)
    assert "DCIM.zip" in [a.name for a in plan_processed(session, ["DCIM"])]


def test_processed_plan_holds_useful_frames_folders_and_root_files(sample_session: Path):
    session = Session.open(sample_session)
    archives = plan_processed(session, folders_from_letters("fmi", "processed"))
    assert [a.name for a in archives] == [
        "PROCESSED_DATA_FRAMES.zip", "METADATA.zip", "PROCESSED_DATA_IA.zip",
        f"000_{session.name.raw}_preview.pdf",
    ]
    with session.predictions_csv.open(newline="") as f:
        useful = {row["FileName"] for row in csv.DictReader(f)}
    frames = archives[0]
    assert {m.arcname for m in frames.members} == useful
    assert [m.arcname for m in frames.members] == sorted(useful, key=natural_key)
    assert not archives[-1].zipped
    for archive in archives:
        assert archive.size == _streamed_length(archive)


def test_all_frames_ignores_usefulness(sample_session: Path):
    frames = plan_processed(Session.open(sample_session), [FRAMES], all_frames=True)[0]
    assert len(frames.members) == 40


def test_usefulness_falls_back_to_the_jacques_csv(sample_session: Path):
    session = Session.open(sample_session)
    with session.predictions_csv.open(newline="") as f:
        useful = {row["FileName"] for row in csv.DictReader(f)}
    session.predictions_csv.unlink()
    frames = plan_processed(session, [FRAMES])[0]
    assert {m.arcname for m in frames.members} == useful
    for csv_file in session.ia_dir.glob("*jacques*"):
        csv_file.unlink()
    with pytest.raises(PlanError, match="select useful frames"):
        plan_processed(session, [FRAMES])
    assert len(plan_processed(session, [FRAMES], all_frames=True)[0].members) == 40


def test_uav_frames_archive_is_named_after_dcim(sample_sessions):
    session = _small(sample_sessions, platform="UAV")
    frames = plan_processed(session, [FRAMES], all_frames=True)[0]
    assert (frames.name, frames.folder) == ("DCIM.zip", "DCIM")
    assert frames.members[0].arcname == "DJI_0001.JPG"


def test_frames_pointing_into_restricted_dcim_are_refused(sample_session: Path):
    session = Session.open(sample_session)

    def to_dcim(fields, rows):
        for row in rows:  # frames kept as photos beside the videos, in the restricted DCIM
            photo = session.path / "DCIM" / "GOPRO1" / row["FileName"]
            photo.parent.mkdir(exist_ok=True)
            photo.write_bytes((session.path / "PROCESSED_DATA" / "FRAMES" / row["FileName"]).read_bytes())
            row["relative_file_path"] = f"{session.name.raw}/DCIM/GOPRO1/{row['FileName']}"
        return fields, rows

    _rewrite_csv(session.metadata_csv, to_dcim)
    with pytest.raises(RestrictedFolderError, match="DCIM is restricted for ASV"):
        plan_processed(session, [FRAMES], all_frames=True)


def test_frames_spread_over_folders_are_refused(sample_session: Path):
    session = Session.open(sample_session)

    def mix(fields, rows):
        rows[0]["relative_file_path"] = f"{session.name.raw}/PROCESSED_DATA/IA/" + next(
            p.name for p in session.ia_dir.iterdir())
        rows[0]["relative_file_path"] = rows[0]["relative_file_path"].replace(".csv", ".jpeg")
        (session.ia_dir / Path(rows[0]["relative_file_path"]).name).write_bytes(b"x")
        return fields, rows

    _rewrite_csv(session.metadata_csv, mix)
    with pytest.raises(PlanError, match="must all lie in one folder"):
        plan_processed(session, [FRAMES], all_frames=True)


def test_frame_paths_escaping_the_session_are_ignored(sample_session: Path, tmp_path: Path):
    session = Session.open(sample_session)
    secret = sample_session.parent / "secret.jpeg"
    secret.write_bytes(b"secret")

    def escape(fields, rows):
        rows[0]["relative_file_path"] = f"{session.name.raw}/../secret.jpeg"
        rows[1]["relative_file_path"] = str(secret)
        return fields, rows

    _rewrite_csv(session.metadata_csv, escape)
    frames = plan_processed(session, [FRAMES], all_frames=True)[0]
    assert len(frames.members) == 38
    assert all(m.source.is_relative_to(session.path) for m in frames.members)


def test_frames_without_metadata_are_an_error(sample_session: Path):
    session = Session.open(sample_session)
    session.metadata_csv.unlink()
    with pytest.raises(PlanError, match=r"METADATA/metadata.csv is missing"):
        plan_processed(session, [FRAMES])


def test_processed_over_the_record_bound_is_refused(sample_session: Path):
    with pytest.raises(RecordTooLargeError, match="publish fewer folders"):
        plan_processed(Session.open(sample_session), ["METADATA"], record_bytes=10_000)


def test_missing_folders_are_skipped_and_junk_files_ignored(sample_session: Path):
    ia = sample_session / "PROCESSED_DATA" / "IA"
    (ia / "ortho.tif.aux.xml").write_text("x")
    (ia / ".hidden").write_text("x")
    archives = plan_processed(Session.open(sample_session), ["PROCESSED_DATA/BATHY", "PROCESSED_DATA/IA"])
    ia_zip = next(a for a in archives if a.name == "PROCESSED_DATA_IA.zip")
    assert len(ia_zip.members) == 3
    assert "PROCESSED_DATA_BATHY.zip" not in [a.name for a in archives]


def test_photogrammetry_report_is_published_beside_its_zip(sample_session: Path):
    report = sample_session / "PROCESSED_DATA" / "PHOTOGRAMMETRY" / "odm_report" / "report.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF-1.4 report")
    archives = plan_processed(Session.open(sample_session), folders_from_letters("p", "processed"))
    names = [a.name for a in archives]
    assert "PROCESSED_DATA_PHOTOGRAMMETRY.zip" in names
    copy = archives[names.index("000_photogrammetry_report.pdf")]
    assert not copy.zipped and copy.members[0].source == report.resolve()


def test_natural_order_and_stable_plans(sample_sessions):
    session = _small(sample_sessions, frames=12, dcim_mb=0)
    for name in ("G0010010.JPG", "G0010002.JPG"):
        (session.path / "DCIM" / "GOPRO1").mkdir(exist_ok=True)
        (session.path / "DCIM" / "GOPRO1" / name).write_bytes(b"jpeg")
    arcnames = [m.arcname for m in plan_raw(session)[0][1].members]
    assert arcnames.index("GOPRO1/G0010002.JPG") < arcnames.index("GOPRO1/G0010010.JPG")
    assert plan_raw(session) == plan_raw(session)
    assert sorted(["G10", "G2", "g1"], key=natural_key) == ["g1", "G2", "G10"]


def test_letters():
    assert folders_from_letters("fmgbipc", "processed") == [
        FRAMES, "METADATA", "GPS", "PROCESSED_DATA/BATHY", "PROCESSED_DATA/IA",
        "PROCESSED_DATA/PHOTOGRAMMETRY", "PROCESSED_DATA/CPCE_ANNOTATION",
    ]
    assert folders_from_letters("fd", "processed") == [FRAMES]
    assert folders_from_letters("f,d,s", "custom") == ["PROCESSED_DATA/FRAMES", "DCIM", "SENSORS"]
    with pytest.raises(PlanError, match="unknown processed folder letter 's'"):
        folders_from_letters("s", "processed")
    with pytest.raises(PlanError, match="no folder letters"):
        folders_from_letters("", "custom")


def test_custom_plan_may_hold_dcim_but_not_nothing(sample_session: Path):
    session = Session.open(sample_session)
    archives = plan_custom(session, folders_from_letters("ds", "custom"))
    assert [a.name for a in archives] == ["DCIM.zip", "SENSORS.zip"]
    with pytest.raises(PlanError, match="none of PROCESSED_DATA/BATHY"):
        plan_custom(session, ["PROCESSED_DATA/BATHY"])
    with pytest.raises(RecordTooLargeError):
        plan_custom(session, ["DCIM"], record_bytes=1_000)


@pytest.mark.parametrize("folder", ["./DCIM", "DCIM/", "PROCESSED_DATA/../DCIM", "dcim", "DCIM\\GOPRO1"])
def test_restricted_folders_are_refused_however_they_are_spelled(sample_session: Path, folder):
    with pytest.raises(RestrictedFolderError):
        plan_processed(Session.open(sample_session), [folder])


@pytest.mark.parametrize("folder", ["../other", "/etc", ".", ""])
def test_folders_outside_the_session_are_refused(sample_session: Path, folder):
    with pytest.raises(PlanError, match="not a folder inside the session"):
        plan_processed(Session.open(sample_session), [folder])


def test_a_link_into_dcim_cannot_smuggle_restricted_files(sample_session: Path):
    (sample_session / "PROCESSED_DATA" / "BATHY").symlink_to(sample_session / "DCIM", target_is_directory=True)
    with pytest.raises(RestrictedFolderError, match="lies in a restricted folder of ASV sessions"):
        plan_processed(Session.open(sample_session), ["PROCESSED_DATA/BATHY"])
    (sample_session / "PROCESSED_DATA" / "BATHY").unlink()
    (sample_session / "000_video.mp4").symlink_to(sample_session / "DCIM" / "GX010001.MP4")
    with pytest.raises(RestrictedFolderError, match=r"000_video\.mp4"):
        plan_processed(Session.open(sample_session), ["METADATA"])


def test_uav_raw_gps_carries_the_whole_folder(sample_sessions):
    session = _small(sample_sessions, platform="UAV")
    gps = next(a for a in plan_raw(session)[0] if a.name == "GPS.zip")
    names = [m.arcname for m in gps.members]
    assert f"DEVICE/{session.name.raw}_ppk_solution.pos" in names
    assert any(n.endswith(".LLH") for n in names)
