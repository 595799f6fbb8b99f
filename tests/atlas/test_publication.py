"""The Atlas as a Zenodo record: metadata, fingerprint on a record, next label."""

from __future__ import annotations

from zenodo_atlas.atlas.publication import FINGERPRINT_FILE, atlas_metadata, fingerprint_on_record, next_label
from zenodo_atlas.sessions.zenodo_record import declares_urn
from zenodo_atlas.zenodo.models import Record, RecordFile


def _record(version: str, files: list[RecordFile]) -> Record:
    return Record(id=7, conceptrecid="1", metadata={"version": version}, files=files)


def test_metadata_declares_the_atlas_urn_and_version() -> None:
    metadata = atlas_metadata("urn:seatizen-atlas", "v1.0.3", ["seatizen-data"], sessions=4)
    assert declares_urn(metadata.model_dump(mode="json"), "urn:seatizen-atlas")
    assert metadata.version == "v1.0.3" and metadata.access_right == "open"
    assert "4 sessions" in metadata.description


def test_fingerprint_and_next_label_read_the_latest_record() -> None:
    marker = RecordFile(key=FINGERPRINT_FILE, size=64, checksum="md5:" + "a" * 32)
    latest = _record("v1.0.3", [marker])
    assert fingerprint_on_record(latest) == "a" * 32
    assert fingerprint_on_record(_record("v1.0.0", [])) is None and fingerprint_on_record(None) is None
    assert next_label(latest) == "v1.0.4" and next_label(None) == "v1.0.0"
