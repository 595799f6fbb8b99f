from __future__ import annotations

import pytest

from zenodo_atlas.sessions.platforms import KNOWN_PLATFORMS, rules_for

DEFAULT_GROUP = ("ASV", "SCUBA", "MASK", "PADDLE", "KITE", "BOAT", "HIKE")


def test_every_platform_of_the_spec_is_known():
    assert set(KNOWN_PLATFORMS) == {*DEFAULT_GROUP, "UAV", "UVC", "AUV"}


@pytest.mark.parametrize("platform", DEFAULT_GROUP)
def test_default_group_keeps_dcim_restricted(platform):
    rules = rules_for(platform)
    assert rules.raw_access_right == "restricted"
    assert rules.processed_access_right == "open"
    assert rules.restricted_folders == ("DCIM",)
    assert rules.raw_archives == ("GPS", "DCIM", "SENSORS")
    assert rules.date_columns == ("SubSecDateTimeOriginal", "GPSDateTime", "DateTimeOriginal")
    assert rules.is_restricted("DCIM") and rules.is_restricted("DCIM/GOPRO1")
    assert not rules.is_restricted("PROCESSED_DATA/FRAMES")


def test_uav_is_open_and_publishes_metadata_and_overview_raw():
    rules = rules_for("UAV")
    assert (rules.raw_access_right, rules.processed_access_right) == ("open", "open")
    assert rules.restricted_folders == ()
    assert rules.raw_archives == ("DCIM", "METADATA", "GPS")
    assert rules.raw_root_files == ("00_sample_rawdata_overview.png",)
    assert rules.date_columns == ("DateTimeOriginal",)
    assert rules.image_type == "Aerial"
    assert not rules.is_restricted("DCIM")


def test_uvc_is_open_with_dcim_only():
    rules = rules_for("UVC")
    assert (rules.raw_access_right, rules.restricted_folders, rules.raw_archives) == ("open", (), ("DCIM",))
    assert rules.date_columns == ("DateTimeOriginal", "SubSecDateTimeOriginal")


def test_auv_is_open_but_never_reuses_dcim_in_processed():
    rules = rules_for("AUV")
    assert (rules.raw_access_right, rules.processed_access_right) == ("open", "open")
    assert rules.restricted_folders == ("DCIM",)
    assert rules.raw_archives == ("DCIM",)
    assert rules.date_columns == ("GPSDateTime",)


@pytest.mark.parametrize(
    ("platform", "phrase"),
    [("ASV", "an Autonomous Surface Vehicle"), ("SCUBA", "scuba diving"), ("PADDLE", "a paddle board"),
     ("KITE", "a kite"), ("MASK", "a snorkelling mask"), ("HIKE", "hiking"), ("BOAT", "boat"),
     ("UAV", "an Unmanned Aerial Vehicle")],
)
def test_title_phrase_uses_the_predecessor_articles(platform, phrase):
    assert rules_for(platform).collected_by == phrase


def test_lookup_is_case_insensitive_and_unknown_is_explained():
    assert rules_for("scuba").platform == "SCUBA"
    with pytest.raises(ValueError, match=r"unknown platform 'CAR'.*ASV"):
        rules_for("CAR")
