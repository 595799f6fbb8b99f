"""Artifact keys: one slug rule for every artifact the tasks and flows create."""

from __future__ import annotations

from zenodo_atlas.tasks.progress import artifact_key


def test_artifact_keys_are_lowercase_letters_digits_and_dashes() -> None:
    assert artifact_key("upload", "20231021_REU-ST-LEU_ASV-2_01", "RAW_DATA") == (
        "upload-20231021-reu-st-leu-asv-2-01-raw-data"
    )
    assert artifact_key("upload", "S", "v1.2 final") == "upload-s-v1-2-final"
    assert artifact_key("download", "") == "download"
