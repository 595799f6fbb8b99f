"""The rules of a session on Zenodo: identifier, labels, version selection."""

from __future__ import annotations

from datetime import UTC, datetime

from zenodo_atlas.sessions.naming import parse_session_name
from zenodo_atlas.sessions.zenodo_record import (
    PROCESSED_LABEL,
    RAW_LABEL,
    declares_urn,
    deprecated_note,
    folder_name_of,
    is_concept_doi,
    is_deprecated,
    is_session_version,
    label_of,
    names_a_record,
    new_session_versions,
    raw_parts_published,
    select_versions,
    session_name_of,
    session_urn,
    stacks_processed,
    strip_urn,
    version_kinds,
    versions_by_concept,
)
from zenodo_atlas.zenodo.models import Record

NAME = "20231021_REU-ST-LEU_ASV-2_01"


def _record(record_id: int, label: str | None = None, identifiers: tuple[str, ...] = (), **metadata: object) -> Record:
    related = [{"identifier": i, "relation": "isAlternateIdentifier"} for i in identifiers]
    metadata = {"version": label, "related_identifiers": related, **metadata}
    return Record(id=record_id, conceptrecid="1", metadata=metadata)


def test_urn_round_trip_and_session_name_urn_agree() -> None:
    assert session_urn(NAME) == parse_session_name(NAME).urn == f"urn:{NAME}"
    assert strip_urn(session_urn(NAME)) == NAME and strip_urn(NAME) == NAME


def test_session_name_of_a_record_needs_a_dated_urn() -> None:
    assert session_name_of(_record(1, identifiers=("urn:seatizen-atlas", f"urn:{NAME}"))) == NAME
    assert session_name_of(_record(1, identifiers=("urn:seatizen-atlas", NAME))) is None


def test_declares_urn_reads_related_identifiers() -> None:
    metadata = {"related_identifiers": [{"identifier": session_urn(NAME)}]}
    assert declares_urn(metadata, session_urn(NAME)) and not declares_urn({}, session_urn(NAME))


def test_labels_are_normalised_once() -> None:
    assert label_of(_record(1, "RAW DATA")) == RAW_LABEL and label_of(_record(1)) == ""
    assert version_kinds(["raw data", "custom"]) == (True, False)
    assert version_kinds(["PROCESSED_DATA"]) == (False, True)
    assert is_session_version(_record(1, "PROCESSED DATA")) and not is_session_version(_record(1, "v2"))


def test_select_versions_takes_every_raw_part_and_the_latest_processed() -> None:
    versions = [_record(1, RAW_LABEL), _record(2, "RAW DATA"), _record(3, PROCESSED_LABEL),
                _record(4, PROCESSED_LABEL), _record(5, "custom")]
    assert [r.id for r in select_versions(versions, raw=True, processed=True)] == [1, 2, 4]
    assert [r.id for r in select_versions(versions, raw=False, processed=True)] == [4]
    assert [r.id for r in select_versions(versions, raw=True, processed=False)] == [1, 2]


def test_raw_parts_and_processed_stacking() -> None:
    assert raw_parts_published([RAW_LABEL, RAW_LABEL, PROCESSED_LABEL]) == 2
    assert stacks_processed(PROCESSED_LABEL, [RAW_LABEL, PROCESSED_LABEL])
    assert not stacks_processed(PROCESSED_LABEL, [RAW_LABEL]) and not stacks_processed(RAW_LABEL, [RAW_LABEL])


def test_record_access_and_timestamps() -> None:
    for access, hidden in [("open", False), ("restricted", True), ("closed", True), ("embargoed", True)]:
        assert _record(1, access_right=access).hides_files is hidden
    naive = Record(id=1, conceptrecid="1", updated="2024-05-01T10:00:00")
    assert naive.updated_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    fallback = Record(id=1, conceptrecid="1", created="2024-05-01T10:00:00+00:00")
    assert fallback.updated_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert Record(id=1, conceptrecid="1", updated="garbage").updated_at is None


def test_versions_by_concept_and_new_session_versions() -> None:
    def stamped(record_id: int, concept: str, updated: str | None, label: str = RAW_LABEL) -> Record:
        return Record(id=record_id, conceptrecid=concept, updated=updated, metadata={"version": label})

    older, newer = stamped(1, "c1", "2024-01-01T00:00:00+00:00"), stamped(2, "c1", "2024-02-01T00:00:00")
    other = stamped(3, "c2", None)
    fourth = stamped(4, "c2", "2024-03-01T00:00:00+00:00")
    grouped = versions_by_concept([newer, older, fourth, other, newer])
    assert grouped == {"c1": [older, newer], "c2": [other, fourth]}
    versions = [older, newer, stamped(5, "c1", None, "custom"), stamped(6, "c1", None, PROCESSED_LABEL)]
    assert [v.id for v in new_session_versions(versions, {1})] == [2, 6]


def test_doi_kind_and_download_folder_of_a_record() -> None:
    record = Record(id=12, conceptrecid="11")
    assert is_concept_doi("10.5281/zenodo.11", record) and is_concept_doi("https://doi.org/10.5281/zenodo.11/", record)
    assert not is_concept_doi("10.5281/zenodo.12", record)
    assert folder_name_of(record) == "record_12"
    assert folder_name_of(_record(3, identifiers=(f"urn:{NAME}",))) == NAME


def test_what_a_user_typed_names_a_record_or_a_session() -> None:
    assert names_a_record("10.5281/zenodo.11") and names_a_record("11")
    assert not names_a_record(NAME)


def test_deprecated_versions_are_never_selected_and_explained() -> None:
    versions = [_record(1, RAW_LABEL), _record(2, "DEPRECATED"), _record(3, "DEPRECATED")]
    assert is_deprecated(versions[1]) and not is_deprecated(versions[0])
    assert select_versions(versions, raw=True, processed=True) == [versions[0]]
    note = deprecated_note(versions, processed=True)
    assert note is not None and "2, 3 are DEPRECATED" in note
    assert deprecated_note(versions, processed=False) is None
    assert deprecated_note([*versions, _record(4, PROCESSED_LABEL)], processed=True) is None
