"""The Darwin Core archive against issue 15's rules 1-11, read back with python-dwca-reader, plus a
checklist of the publishing rules GBIF and OBIS document (GBIF IPT sampling-event requirements and
EML profile; OBIS quality checks as coded in iobis/obis-qc)."""

import csv
import io
import math
import re
import stat
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dwca.read import DwCAReader

import zenodo_atlas.atlas
from tests.fixtures.atlas import Published, deposit_for
from zenodo_atlas.atlas.annotations import import_annotations
from zenodo_atlas.atlas.darwincore import (
    EVENT_TERMS,
    OCCURRENCE_TERMS,
    load_taxa,
    load_template,
    meta_xml,
    write_dwca,
)
from zenodo_atlas.atlas.ingest import register_session
from zenodo_atlas.sessions.plan import frame_archive_member
from zenodo_atlas.sessions.sample import write_sample_annotations

DWC = "http://rs.tdwg.org/dwc/terms/"
# Several labels per taxon (Acropora morphotypes -> Acropora), a cover category (Sand) and a label without
# a taxon (Fish).
LABELS = ["Acropora_Branching", "Acropora_Tabular", "Acropora_Digitate", "Sea_urchin", "Sand", "Rubble", "Fish"]
GBIF_LICENCES = {  # the only licences GBIF registers a dataset under
    "http://creativecommons.org/publicdomain/zero/1.0/legalcode",
    "http://creativecommons.org/licenses/by/4.0/legalcode",
    "http://creativecommons.org/licenses/by-nc/4.0/legalcode",
}


def _value(row: object, term: str) -> str:
    return row.data[f"{DWC}{term}"]  # type: ignore[attr-defined]


class Built:
    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        with DwCAReader(str(path)) as archive:
            rows = list(archive)
            self.events = {row.id: row for row in rows}
            self.occurrences = [ext for row in rows for ext in row.extensions]
        with zipfile.ZipFile(path) as raw:
            self.eml = ET.fromstring(raw.read("eml.xml"))
            self.infos = raw.infolist()
        self.sessions = [e for e in self.events.values() if not _value(e, "parentEventID")]
        self.frames = [e for e in self.events.values() if _value(e, "parentEventID")]


@pytest.fixture
def built(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> Built:
    session, deposit, md5s = published_session(frames=30)
    deposit.versions[-1].files["PROCESSED_DATA_FRAMES.zip"] = "0" * 32  # the published frames archive
    deposit.recorded_by = ["Doe, Jane", "Rivière, Marie"]  # the records' DataCollector contributors
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="jdoe", dataset="reef",
                                                           labels=LABELS))
    path = write_dwca(atlas_con, tmp_path / "dwca.zip", media=frame_archive_member)
    return Built(path, atlas_con)


def test_meta_xml_indexes_are_zero_based_and_complete() -> None:
    meta = meta_xml()
    for i, (name, ns) in enumerate(EVENT_TERMS):
        assert f'<field index="{i}" term="{ns}{name}"/>' in meta
    for i, (name, ns) in enumerate(OCCURRENCE_TERMS):
        assert f'<field index="{i}" term="{ns}{name}"/>' in meta
    assert meta.count("<location>") == 2


def test_rule1_licence_is_a_machine_readable_cc_url(built: Built) -> None:
    ulink = built.eml.find("dataset/intellectualRights/para/ulink")
    assert ulink is not None and ulink.get("url") in GBIF_LICENCES
    assert {e.data["http://purl.org/dc/terms/license"] for e in built.events.values()} == {ulink.get("url")}


def test_rule2_scientific_name_kingdom_rank_and_resolvable_ids(built: Built) -> None:
    taxa = {t.scientific_name: t for t in load_taxa().values()}
    assert built.occurrences
    for o in built.occurrences:
        name = _value(o, "scientificName")
        assert name in taxa and _value(o, "kingdom") == taxa[name].kingdom and _value(o, "taxonRank")
        assert _value(o, "taxonID") == f"https://www.gbif.org/species/{taxa[name].gbif_key}"
        assert re.fullmatch(r"https://www\.gbif\.org/species/\d+|urn:lsid:marinespecies\.org:taxname:\d+",
                            _value(o, "scientificNameID"))
    urchins = {_value(o, "scientificNameID") for o in built.occurrences if _value(o, "scientificName") == "Echinoidea"}
    assert urchins == {"urn:lsid:marinespecies.org:taxname:123082"}  # WoRMS LSID when the AphiaID is known
    assert "Fish" not in {_value(o, "verbatimIdentification") for o in built.occurrences}  # no taxon: no record


def test_rule3_one_occurrence_per_event_and_taxon_present_if_any_label(
    built: Built, atlas_con: duckdb.DuckDBPyConnection
) -> None:
    pairs = Counter((_value(o, "eventID"), _value(o, "scientificName")) for o in built.occurrences)
    assert max(pairs.values()) == 1
    acropora = atlas_con.execute(
        "SELECT f.file_name, max(a.value) FROM annotation a JOIN frame f ON f.id = a.frame_id "
        "JOIN multilabel_label l ON l.id = a.label_id WHERE l.name LIKE 'Acropora_%' AND a.value IN (0, 1) "
        "GROUP BY f.file_name"
    ).fetchall()
    status = {_value(o, "eventID").rsplit("#", 1)[1]: _value(o, "occurrenceStatus")
              for o in built.occurrences if _value(o, "scientificName") == "Acropora"}
    assert len(status) == len(acropora) > 0
    for file_name, value in acropora:
        assert status[Path(file_name).stem] == ("present" if value == 1 else "absent")
    assert {"present", "absent"} <= set(status.values())


def test_rule4_sample_size_and_effort_on_every_event(built: Built) -> None:
    for event in built.events.values():
        assert float(_value(event, "sampleSizeValue")) > 0 and _value(event, "sampleSizeUnit")
        assert _value(event, "samplingEffort") and _value(event, "samplingProtocol")
    (session,) = built.sessions
    assert int(_value(session, "sampleSizeValue")) == len(built.frames)


def test_rule5_associated_media_are_image_urls_on_zenodo(built: Built) -> None:
    media = {_value(o, "associatedMedia") for o in built.occurrences}
    assert media and all(
        re.fullmatch(r"https://zenodo\.org/records/\d+/files/[\w.]+\.zip/container/\S+\.(jpg|jpeg|JPG|png)", m)
        for m in media
    ), sorted(media)[:3]
    assert not any(" | " in m or "doi.org" in m for m in media)


def test_rule6_rounded_coordinates_with_uncertainty_on_every_event(built: Built) -> None:
    for event in built.events.values():
        lat, uncertainty = _value(event, "decimalLatitude"), _value(event, "coordinateUncertaintyInMeters")
        assert lat and float(uncertainty) > 0
        # The written decimals never exceed the stated precision (a value may end in 0 and show fewer),
        # and the rounding step (~111 km * precision) stays below the uncertainty.
        decimals = round(-math.log10(float(_value(event, "coordinatePrecision"))))
        assert round(float(lat), decimals) == float(lat) and len(lat.split(".")[-1]) <= decimals
        assert 111_320 * 10**-decimals <= float(uncertainty) * 2 and decimals <= 7
    (session,) = built.sessions
    assert float(_value(session, "coordinateUncertaintyInMeters")) > 50  # a footprint, not a GPS fix


def test_rule7_event_date_carries_utc_time(built: Built) -> None:
    for frame in built.frames:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", _value(frame, "eventDate"))
    (session,) = built.sessions
    start, end = _value(session, "eventDate").split("/")
    assert datetime.fromisoformat(start) <= datetime.fromisoformat(end)
    assert "eventTime" not in meta_xml()


def test_rule8_stable_namespaced_ids_that_survive_rebuild_and_rename(
    built: Built, atlas_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    namespace = load_template().namespace
    ids = [_value(o, "occurrenceID") for o in built.occurrences]
    assert len(set(ids)) == len(ids) and all(i.startswith(namespace) for i in ids)
    assert all(not re.search(r"\b\d{1,3}\b", _value(o, "identifiedBy")) for o in built.occurrences)
    assert {_value(o, "identifiedBy") for o in built.occurrences} == {"jdoe"}  # the annotator
    assert {_value(o, "recordedBy") for o in built.occurrences} == {"Doe, Jane | Rivière, Marie"}  # the observers
    assert "recordNumber" not in meta_xml()
    # a label rename and a rebuild in another row order keep every id
    atlas_con.execute("UPDATE multilabel_label SET name = 'Acropora_branching_form' WHERE name = 'Acropora_Branching'")
    again = write_dwca(atlas_con, tmp_path / "again.zip", media=frame_archive_member)
    with DwCAReader(str(again)) as archive:
        assert sorted(ext.data[f"{DWC}occurrenceID"] for row in archive for ext in row.extensions) == sorted(ids)


def test_rule9_eml_contact_provider_coverage_methods_keywords_and_doi(built: Built) -> None:
    template = load_template()
    dataset = built.eml.find("dataset")
    assert dataset is not None
    assert dataset.findtext("contact/electronicMailAddress") == template.contact.email
    assert dataset.findtext("contact/individualName/surName") == template.contact.sur_name
    assert dataset.findtext("metadataProvider/electronicMailAddress") == template.metadata_provider.email
    assert dataset.findtext("alternateIdentifier") == template.doi_url
    assert dataset.findtext("title") == template.title and dataset.findtext("abstract/para") == template.abstract
    box = dataset.find("coverage/geographicCoverage/boundingCoordinates")
    assert box is not None and -22 < float(box.findtext("southBoundingCoordinate") or 0) < -21
    assert dataset.findtext("coverage/temporalCoverage/rangeOfDates/beginDate/calendarDate") == "2023-10-21"
    classifications = dataset.iterfind("coverage/taxonomicCoverage/taxonomicClassification")
    ranks = {c.findtext("taxonRankValue") for c in classifications}
    assert ranks == {_value(o, "scientificName") for o in built.occurrences}
    assert len(dataset.findall("methods/methodStep")) == len(template.methods.steps)
    assert {k.text for k in dataset.iterfind("keywordSet/keyword")} >= set(template.keywords.words)
    citation = built.eml.find("additionalMetadata/metadata/gbif/citation")
    assert citation is not None and citation.get("identifier") == template.doi_url


def test_rule9_eml_comes_from_the_template_file(
    atlas_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    source = Path(zenodo_atlas.atlas.__file__).parent / "data" / "atlas_metadata.yaml"
    edited = tmp_path / "atlas_metadata.yaml"
    edited.write_text(source.read_text().replace("data-manager@example.org", "someone@else.org"))
    path = write_dwca(atlas_con, tmp_path / "t.zip", template=load_template(edited))
    with zipfile.ZipFile(path) as raw:
        assert b"someone@else.org" in raw.read("eml.xml") and b"data-manager@example.org" not in raw.read("eml.xml")


def test_rule10_habitat_from_data_and_depth_when_underwater(
    built: Built, atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    habitats = {_value(f, "habitat") for f in built.frames}
    assert habitats - {""} and habitats - {"", "Rubble", "Sand", "Rubble | Sand"} == set()
    assert {h for h in habitats if h} != {"coral reef"}
    session, deposit, md5s = published_session(
        name="20240612_REU-ST-LEU_AUV-1_01", platform="AUV", frames=12, concept_recid="3000", first_record=3001
    )
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="m", dataset="d",
                                                           labels=["Sea_urchin", "Acropora"]))
    path = write_dwca(atlas_con, tmp_path / "auv.zip")
    with DwCAReader(str(path)) as archive:
        auv = [r for r in archive if "AUV" in r.data[f"{DWC}parentEventID"]]
    assert auv and all(float(_value(r, "minimumDepthInMeters")) > 0 for r in auv)
    assert all(_value(e, "minimumDepthInMeters") == "" for e in built.frames)  # a surface vehicle: no depth


def test_rule11_zip_members_are_readable_files(built: Built) -> None:
    for info in built.infos:
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644 and stat.S_ISREG(info.external_attr >> 16)


def test_gbif_and_obis_checklist(built: Built) -> None:
    """Documented publishing checks: required terms, controlled values, ranges, core-extension integrity."""
    event_ids = set(built.events)
    for event in built.events.values():
        assert _value(event, "eventID") and _value(event, "eventDate")
        lat, lon = float(_value(event, "decimalLatitude")), float(_value(event, "decimalLongitude"))
        assert -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0)
        assert _value(event, "geodeticDatum") == "EPSG:4326" and re.fullmatch(r"[A-Z]{2}", _value(event, "countryCode"))
        parent = _value(event, "parentEventID")
        assert not parent or parent in event_ids
    for o in built.occurrences:
        assert _value(o, "occurrenceStatus") in {"present", "absent"}
        assert _value(o, "basisOfRecord") in {"HumanObservation", "MachineObservation"}
        assert _value(o, "eventID") in event_ids and _value(o, "occurrenceID")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", _value(o, "dateIdentified"))
    with zipfile.ZipFile(built.path) as raw:
        for name in ("event.txt", "occurrence.txt"):
            rows = list(csv.reader(io.StringIO(raw.read(name).decode())))
            assert len({len(r) for r in rows}) == 1  # every row as wide as the header


def test_frames_without_time_or_position_do_not_break_the_archive(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    session, _, _ = published_session(frames=12)
    meta = pd.read_csv(session / "METADATA" / "metadata.csv")
    meta[["SubSecDateTimeOriginal", "DateTimeOriginal", "GPSDateTime"]] = None
    meta[["GPSLatitude", "GPSLongitude"]] = None
    meta.to_csv(session / "METADATA" / "metadata.csv", index=False)
    _, deposit, md5s = deposit_for(session)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="jdoe", dataset="d",
                                                           labels=["Acropora_Branching", "Fish"]))
    path = write_dwca(atlas_con, tmp_path / "dwca.zip")
    with DwCAReader(str(path)) as archive:
        frames = [row for row in archive if row.data[f"{DWC}parentEventID"]]
        occurrences = [ext for row in archive for ext in row.extensions]
    assert frames and occurrences
    assert all(_value(row, "eventDate") == "" and _value(row, "decimalLatitude") == "" for row in frames)
    assert {_value(o, "scientificName") for o in occurrences} == {"Acropora"}


def test_unchanged_annotations_give_identical_archives(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    session, deposit, md5s = published_session(frames=10)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="a", dataset="b",
                                                           labels=["Acropora_Branching"]))
    first = write_dwca(atlas_con, tmp_path / "one.zip").read_bytes()
    assert write_dwca(atlas_con, tmp_path / "two.zip").read_bytes() == first
