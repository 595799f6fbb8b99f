from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from tests.sessions.helpers import gps_columns
from zenodo_atlas.sessions.errors import TemplateError
from zenodo_atlas.sessions.metadata import (
    build_custom_metadata,
    build_processed_metadata,
    build_raw_metadata,
    session_title,
)
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.zenodo.models import DepositMetadata


def test_raw_metadata_of_a_restricted_platform(sample_session: Path, template, people):
    session = Session.open(sample_session)
    meta = build_raw_metadata(session, template, people)
    assert meta.title == "Underwater images collected by an Autonomous Surface Vehicle in St-Leu, Réunion - 2023-10-21"
    assert meta.version == "RAW_DATA"
    assert (meta.access_right, meta.access_conditions) == ("restricted", template.access_conditions)
    assert meta.upload_type == "dataset" and meta.language == "eng" and meta.license == "cc-by-4.0"
    assert meta.related_identifiers[0].model_dump(exclude_none=True) == {
        "identifier": f"urn:{session.name.raw}", "relation": "isAlternateIdentifier"}
    assert [r.identifier for r in meta.related_identifiers[1:]] == [
        r.identifier for r in template.related_identifiers]
    assert meta.locations is None and meta.dates is None
    assert meta.notes == "Demo funding line (replace with your grant references)."
    assert [c.name for c in meta.creators] == ["Doe, Jane", "Carberry, Josiah"]
    assert {"Réunion", "Seatizen", "ASV", "Autonomous Surface Vehicle", "Coral reef"} <= set(meta.keywords)
    assert meta.keywords == sorted(meta.keywords)
    DepositMetadata.model_validate(meta.to_api())


def test_description_carries_the_session_figures(sample_session: Path, template, people):
    description = build_raw_metadata(Session.open(sample_session), template, people).description
    assert "<strong>Frames:</strong> 40" in description
    assert "<strong>Frames with GPS:</strong> 40 (100.0 %)" in description
    assert "<strong>Duration:</strong> 0:03:15" in description
    assert "GPS fix quality:</strong> Q1:" in description
    assert "<strong>DCIM:</strong> 4 files, 2.00 MB" in description
    assert 'href="https://github.com/SeatizenDOI/plancha-workflow"' in description


def test_description_escapes_html_from_the_template(sample_session: Path, template, people):
    tricky = template.model_copy(update={"description": "<script>alert(1)</script> & more"})
    description = build_raw_metadata(Session.open(sample_session), tricky, people).description
    assert "<script>" not in description and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in description


def test_open_platforms_have_open_raw_data_and_aerial_titles(sample_sessions, template, people):
    session = Session.open(sample_sessions(platform="UAV", frames=4, dcim_mb=0))
    meta = build_raw_metadata(session, template, people)
    assert (meta.access_right, meta.access_conditions) == ("open", None)
    assert meta.title.startswith("Aerial images collected by an Unmanned Aerial Vehicle in St-Leu")
    assert "Median altitude" in meta.description
    assert "<strong>Camera:</strong> DJI FC6310" in meta.description


def test_auv_description_gives_the_maximum_depth(sample_sessions, template, people):
    session = Session.open(sample_sessions(platform="AUV", frames=4, dcim_mb=0))
    with session.metadata_csv.open(newline="") as f:
        deepest = max(float(row["Depth"]) for row in csv.DictReader(f))
    description = build_raw_metadata(session, template, people).description
    assert f"<strong>Maximum depth:</strong> {deepest:.1f} m" in description
    assert "<strong>Camera:</strong> RECIF3D-CAM" in description


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("20150611_REU-St-Gilles_scuba",
         "Underwater images collected by scuba diving in St-Gilles, Réunion - 2015-06-11"),
        ("20231021_MUS-Le-Morne_PADDLE-1_01",
         "Underwater images collected by a paddle board in Le-Morne, Mauritius - 2023-10-21"),
    ],
)
def test_titles_follow_the_platform_article(tmp_path: Path, template, name, title):
    (tmp_path / name).mkdir()
    assert session_title(Session.open(tmp_path / name), template) == title


def test_template_title_and_platform_names_override(tmp_path: Path, template):
    (tmp_path / "20231021_REU-ST-LEU_ASV-1_01").mkdir()
    session = Session.open(tmp_path / "20231021_REU-ST-LEU_ASV-1_01")
    renamed = template.model_copy(update={"platforms": {"ASV": "autonomous kayak"}})
    assert "collected by an autonomous kayak in" in session_title(session, renamed)
    fixed = template.model_copy(update={"title": "My title"})
    assert session_title(session, fixed) == "My title"


def test_keywords_do_not_leak_between_sessions(sample_sessions, template, people):
    before = list(template.keywords)
    reunion = Session.open(sample_sessions(frames=2, dcim_mb=0))
    mauritius = Session.open(sample_sessions(name="20240301_MUS-Le-Morne_UAV-1_01", platform="UAV",
                                             frames=2, dcim_mb=0))
    first = build_raw_metadata(reunion, template, people).keywords
    second = build_processed_metadata(mauritius, template, people).keywords
    third = build_raw_metadata(reunion, template, people).keywords
    assert "Réunion" in first and "Réunion" not in second and "Mauritius" in second
    assert "Autonomous Surface Vehicle" not in second
    assert first == third
    assert template.keywords == before


def test_processed_metadata_has_bbox_locations_and_dates(sample_session: Path, template, people):
    session = Session.open(sample_session)
    meta = build_processed_metadata(session, template, people, today=date(2025, 1, 2))
    lats, lons = gps_columns(sample_session)
    assert meta.version == "PROCESSED_DATA"
    assert (meta.access_right, meta.access_conditions) == ("open", None)
    south_west, north_east = meta.locations
    assert (south_west.lat, south_west.lon) == (min(lats), min(lons))
    assert (north_east.lat, north_east.lon) == (max(lats), max(lons))
    assert south_west.place == "St-Leu, Réunion"
    collected, valid = meta.dates
    assert (collected.type, collected.start, collected.end) == ("Collected", date(2023, 10, 21), date(2023, 10, 21))
    assert (valid.type, valid.start, valid.end) == ("Valid", date(2025, 1, 2), date(2025, 1, 2))
    assert "jacques" in meta.description and "Useful frames:</strong>" in meta.description
    api = meta.to_api()
    assert api["dates"][0] == {"start": "2023-10-21", "end": "2023-10-21", "type": "Collected"}


def test_processed_without_frames_metadata_falls_back_to_the_session_date(tmp_path: Path, template, people):
    (tmp_path / "20231021_REU-ST-LEU_ASV-1_01").mkdir()
    meta = build_processed_metadata(Session.open(tmp_path / "20231021_REU-ST-LEU_ASV-1_01"), template, people)
    assert meta.locations is None
    assert (meta.dates[0].start, meta.dates[0].end) == (date(2023, 10, 21), date(2023, 10, 21))


def test_collected_dates_use_the_recorded_local_day(sample_session: Path, template, people):
    meta_csv = sample_session / "METADATA" / "metadata.csv"
    text = meta_csv.read_text().replace("2023:10:21 05:33:15.000000000", "2023:10:22 03:00:00.000000000")
    meta_csv.write_text(text)
    meta = build_processed_metadata(Session.open(sample_session), template, people)
    assert (meta.dates[0].start, meta.dates[0].end) == (date(2023, 10, 21), date(2023, 10, 22))


def test_custom_needs_description_and_version(sample_session: Path, template, people):
    session = Session.open(sample_session)
    with pytest.raises(TemplateError, match="needs description and version"):
        build_custom_metadata(session, template, people)
    custom = template.model_copy(update={"description": "Frames for training", "version": "v1.1.0",
                                         "access_right": "restricted"})
    meta = build_custom_metadata(session, custom, people)
    assert (meta.version, meta.access_right, meta.access_conditions) == (
        "v1.1.0", "restricted", template.access_conditions)
    assert "Frames for training" in meta.description


def test_communities_and_unlisted_session_people(sample_sessions, template, people):
    session = Session.open(sample_sessions(name="20240301_MUS-Le-Morne_UAV-1_01", platform="UAV",
                                           frames=2, dcim_mb=0))
    with_community = template.model_copy(update={"communities": ["seatizen-data"]})
    meta = build_raw_metadata(session, with_community, people)
    assert [c.identifier for c in meta.communities] == ["seatizen-data"]
    assert [c.name for c in meta.creators] == ["Doe, Jane"]
    without = template.model_copy(update={"communities": []})
    assert build_raw_metadata(session, without, people).communities is None


def test_built_metadata_shares_nothing_mutable_with_the_inputs(sample_session: Path, template, people):
    session = Session.open(sample_session)
    first = build_raw_metadata(session, template, people)
    first.creators[0].name = "Changed, Someone"
    first.keywords.append("Leaked")
    first.related_identifiers[1].identifier = "changed"
    second = build_raw_metadata(session, template, people)
    assert second.creators[0].name == "Doe, Jane"
    assert "Leaked" not in second.keywords and "Leaked" not in template.keywords
    assert second.related_identifiers[1].identifier == template.related_identifiers[0].identifier != "changed"
